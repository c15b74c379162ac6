using Hyperion.Contracts.Models;
using Hyperion.Inference.Repository;
using Microsoft.ML.OnnxRuntime;

namespace Hyperion.Inference.Backends.Onnx;

/// <summary>
/// The ONNX Runtime sessions of one model version, one per configured instance, opened before the config is
/// completed so auto-complete can read the model's signature; <see cref="CreateInstances"/> hands them on.
/// </summary>
internal sealed class OnnxModel : IBackendModel
{
    private readonly List<InferenceSession> _sessions;

    private OnnxModel(List<InferenceSession> sessions, BackendSignature signature)
    {
        _sessions = sessions;
        Signature = signature;
    }

    public string Platform => ModelPlatforms.OnnxRuntime;

    public BackendSignature Signature { get; }

    public bool SignatureFromConfig => false;

    /// <summary>Opens one session per instance of every instance group (at least one session).</summary>
    /// <param name="allowSpinning">Whether ORT's idle pool threads busy-wait for work (<see cref="RepositoryOptions.OnnxThreadSpinning"/>).</param>
    public static OnnxModel Open(string modelPath, ModelConfig config, bool allowSpinning)
    {
        var sessions = new List<InferenceSession>();
        try
        {
            var groups = config.InstanceGroup.Count > 0 ? config.InstanceGroup : [new InstanceGroupConfig()];
            foreach (var group in groups)
            {
                var gpus = group.Gpus.Count > 0 ? group.Gpus : [0];
                // As in Triton, a gpu group places `count` instances on each listed GPU.
                var perDevice = string.Equals(group.Kind, "gpu", StringComparison.OrdinalIgnoreCase) ? gpus : [0];
                foreach (var gpu in perDevice)
                {
                    for (var i = 0; i < group.Count; i++)
                    {
                        sessions.Add(OpenSession(modelPath, config.Optimization, group.Kind, gpu, allowSpinning));
                    }
                }
            }
            return new OnnxModel(sessions, ReadSignature(sessions[0]));
        }
        catch
        {
            foreach (var session in sessions)
            {
                session.Dispose();
            }
            throw;
        }
    }

    public IModelInstance[] CreateInstances(ModelSignature signature)
    {
        var instances = new IModelInstance[_sessions.Count];
        for (var i = 0; i < instances.Length; i++)
        {
            instances[i] = new OnnxModelInstance(_sessions[i], signature);
        }
        _sessions.Clear();
        return instances;
    }

    public void Dispose()
    {
        foreach (var session in _sessions)
        {
            session.Dispose();
        }
        _sessions.Clear();
    }

    private static InferenceSession OpenSession(string modelPath, OptimizationConfig? optimization, string kind, int gpuId, bool allowSpinning)
    {
        using var options = OnnxSessionOptionsFactory.Create(optimization, kind, gpuId, allowSpinning);
        try
        {
            return new InferenceSession(modelPath, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelLoadException($"ONNX Runtime could not load {Path.GetFileName(modelPath)}: {ex.Message}", ex);
        }
    }

    private static BackendSignature ReadSignature(InferenceSession session) =>
        new(ReadTensors(session.InputNames, session.InputMetadata, "input"),
            ReadTensors(session.OutputNames, session.OutputMetadata, "output"));

    private static BackendTensorInfo[] ReadTensors(
        IReadOnlyList<string> names, IReadOnlyDictionary<string, NodeMetadata> metadata, string role)
    {
        var tensors = new BackendTensorInfo[names.Count];
        for (var i = 0; i < tensors.Length; i++)
        {
            var node = metadata[names[i]];
            if (!node.IsTensor)
            {
                throw new ModelLoadException(
                    $"{role} '{names[i]}' is a {node.OnnxValueType}; only tensor inputs and outputs can be served");
            }
            var dims = new long[node.Dimensions.Length];
            for (var d = 0; d < dims.Length; d++)
            {
                // Symbolic and unknown dimensions come back as -1 (or 0 from some exporters): both mean variable.
                dims[d] = node.Dimensions[d] <= 0 ? -1 : node.Dimensions[d];
            }
            tensors[i] = new BackendTensorInfo(
                names[i], OnnxTypes.ToDataType(node.ElementDataType), node.ElementDataType.ToString(), dims);
        }
        return tensors;
    }
}

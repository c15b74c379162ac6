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

    private OnnxModel(List<InferenceSession> sessions, BackendSignature signature, ModelPlacement placement)
    {
        _sessions = sessions;
        Signature = signature;
        Placement = placement;
    }

    public string Platform => ModelPlatforms.OnnxRuntime;

    public BackendSignature Signature { get; }

    public bool SignatureFromConfig => false;

    /// <summary>
    /// Where the sessions run. Its notes have one sentence per GPU whose instances fell back to CPU (allow_cpu_fallback),
    /// e.g. "instance_group 0 asked for GPU 0 and runs on CPU: it needs ..."; its reason joins them for the version's status.
    /// </summary>
    public ModelPlacement Placement { get; }

    /// <summary>Opens one session per instance of every instance group (at least one session).</summary>
    /// <param name="allowSpinning">Whether ORT's idle pool threads busy-wait for work (<see cref="RepositoryOptions.OnnxThreadSpinning"/>).</param>
    public static OnnxModel Open(string modelPath, ModelConfig config, bool allowSpinning)
    {
        var sessions = new List<InferenceSession>();
        var instances = new List<InstancePlacement>();
        var notes = new List<string>();
        try
        {
            var groups = InstanceGroups.Of(config);
            for (var g = 0; g < groups.Count; g++)
            {
                var group = groups[g];
                if (!InstanceGroups.IsGpu(group))
                {
                    for (var i = 0; i < group.Count; i++)
                    {
                        sessions.Add(OpenSession(modelPath, config.Optimization, null, allowSpinning));
                    }
                    instances.Add(new InstancePlacement(InstancePlacement.Cpu, InstancePlacement.Cpu, group.Count));
                    continue;
                }
                foreach (var gpu in InstanceGroups.Gpus(group))
                {
                    string? fallback = null;
                    for (var i = 0; i < group.Count; i++)
                    {
                        // Once a GPU fell back, its other instances go straight to CPU: the reason has not changed.
                        sessions.Add(fallback is null
                            ? OpenOnGpu(modelPath, config.Optimization, g, group, gpu, allowSpinning, out fallback)
                            : OpenSession(modelPath, config.Optimization, null, allowSpinning));
                    }
                    if (fallback is not null)
                    {
                        notes.Add($"instance_group {g} asked for GPU {gpu} and runs on CPU: it needs {fallback}");
                    }
                    instances.Add(new InstancePlacement(
                        InstancePlacement.Gpu, fallback is null ? InstancePlacement.GpuDevice(gpu) : InstancePlacement.Cpu, group.Count));
                }
            }
            return new OnnxModel(sessions, ReadSignature(sessions[0]), ModelPlacement.Of(instances, notes));
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

    /// <summary>
    /// A session on the CUDA execution provider for <paramref name="gpu"/>. When CUDA cannot be used, a CPU session if
    /// the group allows it (<paramref name="fallback"/> then says what CUDA needs), otherwise the load fails saying so.
    /// </summary>
    private static InferenceSession OpenOnGpu(
        string modelPath, OptimizationConfig? optimization, int groupIndex, InstanceGroupConfig group, int gpu, bool allowSpinning,
        out string? fallback)
    {
        string missing;
        try
        {
            fallback = null;
            return OpenSession(modelPath, optimization, gpu, allowSpinning);
        }
        catch (CudaUnavailableException ex)
        {
            missing = ex.Message;
        }
        catch (ModelLoadException ex)
        {
            // The provider was added but the session did not open (no device, a driver too old, an invalid device id).
            // A model that fails on CPU as well is at fault itself: OpenSession throws that reason from here.
            var cpu = OpenSession(modelPath, optimization, null, allowSpinning);
            missing = $"a CUDA device that ONNX Runtime can open the model on: {ex.InnerException?.Message ?? ex.Message}";
            if (group.AllowCpuFallback)
            {
                fallback = missing;
                return cpu;
            }
            cpu.Dispose();
        }
        if (!group.AllowCpuFallback)
        {
            throw new ModelLoadException(
                $"instance_group kind 'gpu' (GPU {gpu}) needs {missing}; " +
                $"set \"allow_cpu_fallback\": true on instance_group {groupIndex} to run its instances on CPU instead");
        }
        fallback = missing;
        return OpenSession(modelPath, optimization, null, allowSpinning);
    }

    /// <param name="cudaDevice">The GPU to run on; null for CPU.</param>
    private static InferenceSession OpenSession(string modelPath, OptimizationConfig? optimization, int? cudaDevice, bool allowSpinning)
    {
        using var options = OnnxSessionOptionsFactory.Create(optimization, cudaDevice, allowSpinning);
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

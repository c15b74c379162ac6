using Hyperion.Contracts.Models;
using Hyperion.Inference.Repository;
using Hyperion.TorchScript;
using TorchSharp;

namespace Hyperion.Inference.Backends.TorchScript;

/// <summary>
/// A TorchScript <c>model.pt</c> loaded once per configured instance (Triton's <c>pytorch_libtorch</c>). The file
/// carries no signature, so the config states it and one call of forward() on zero-filled inputs checks that the
/// model returns what the config says before the version serves.
/// </summary>
internal sealed class TorchScriptModel : IBackendModel
{
    private readonly List<torch.jit.ScriptModule> _modules;
    private readonly TorchScriptSignature _torchSignature;
    private readonly int _intraOpThreads;

    private TorchScriptModel(
        List<torch.jit.ScriptModule> modules, TorchScriptSignature torchSignature, BackendSignature signature, int intraOpThreads, ModelPlacement placement)
    {
        _modules = modules;
        _torchSignature = torchSignature;
        _intraOpThreads = intraOpThreads;
        Signature = signature;
        Placement = placement;
    }

    public string Platform => ModelPlatforms.PyTorch;

    public BackendSignature Signature { get; }

    public bool SignatureFromConfig => true;

    public ModelPlacement Placement { get; }

    public static TorchScriptModel Open(string modelPath, ModelConfig config)
    {
        CheckSettings(config);
        var placement = Place(config);
        var instances = 0;
        foreach (var placed in placement.Instances)
        {
            instances += placed.Count;
        }
        TorchScriptSignature torchSignature;
        var modules = new List<torch.jit.ScriptModule>(instances);
        try
        {
            torchSignature = TorchScriptSignature.From(config);
            for (var i = 0; i < instances; i++)
            {
                modules.Add(TorchScriptFile.Load(modelPath));
            }
            TorchScriptProbe.Check(modules[0], torchSignature);
        }
        catch (TorchScriptException ex)
        {
            foreach (var module in modules)
            {
                module.Dispose();
            }
            throw new ModelLoadException(ex.Message, ex);
        }
        return new TorchScriptModel(modules, torchSignature, SignatureOf(config), config.Optimization?.IntraOpThreads ?? 0, placement);
    }

    public IModelInstance[] CreateInstances(ModelSignature signature)
    {
        var instances = new IModelInstance[_modules.Count];
        for (var i = 0; i < instances.Length; i++)
        {
            instances[i] = new TorchScriptModelInstance(_modules[i], _torchSignature, _intraOpThreads);
        }
        _modules.Clear();
        return instances;
    }

    public void Dispose()
    {
        foreach (var module in _modules)
        {
            module.Dispose();
        }
        _modules.Clear();
    }

    private static void CheckSettings(ModelConfig config)
    {
        if (config.Optimization is { } optimization)
        {
            if (optimization.GraphOptimizationLevel is not null)
            {
                throw new ModelLoadException(
                    "optimization.graph_optimization_level is an ONNX Runtime setting; a TorchScript model is optimised when it is scripted or traced, so leave it out");
            }
            if (optimization.InterOpThreads != 0)
            {
                throw new ModelLoadException(
                    "optimization.inter_op_threads is an ONNX Runtime setting; LibTorch has one inter-op pool per process, so leave it out (intra_op_threads applies)");
            }
        }
    }

    /// <summary>
    /// Every instance on CPU: no CUDA build of TorchSharp is served, so a "gpu" group fails the load unless it
    /// allows CPU fallback, as an ONNX group whose CUDA provider cannot load does.
    /// </summary>
    private static ModelPlacement Place(ModelConfig config)
    {
        var instances = new List<InstancePlacement>();
        var notes = new List<string>();
        var groups = InstanceGroups.Of(config);
        for (var g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            if (!InstanceGroups.IsGpu(group))
            {
                instances.Add(new InstancePlacement(InstancePlacement.Cpu, InstancePlacement.Cpu, group.Count));
                continue;
            }
            var gpus = InstanceGroups.Gpus(group);
            if (!group.AllowCpuFallback)
            {
                throw new ModelLoadException(
                    $"instance_group {g} has kind \"gpu\", but TorchScript models run on CPU only: no CUDA build of TorchSharp " +
                    "(TorchSharp-cuda-linux) is available to this server; use kind \"cpu\", export the model to ONNX to run it on a GPU, " +
                    $"or set \"allow_cpu_fallback\": true on instance_group {g} to run its instances on CPU");
            }
            instances.Add(new InstancePlacement(InstancePlacement.Gpu, InstancePlacement.Cpu, group.Count * gpus.Count));
            notes.Add($"instance_group {g} asked for GPU {string.Join(", ", gpus)} and runs on CPU: no CUDA build of TorchSharp is available to this server");
        }
        return ModelPlacement.Of(instances, notes);
    }

    private static BackendSignature SignatureOf(ModelConfig config)
    {
        static BackendTensorInfo[] Tensors(IReadOnlyList<ModelTensorConfig> tensors, bool batched)
        {
            var infos = new BackendTensorInfo[tensors.Count];
            for (var i = 0; i < infos.Length; i++)
            {
                var tensor = tensors[i];
                Contracts.Tensors.TensorDataTypes.TryParse(tensor.DataType, out var dataType);
                infos[i] = new BackendTensorInfo(tensor.Name, dataType, tensor.DataType, batched ? [-1, .. tensor.Dims] : [.. tensor.Dims]);
            }
            return infos;
        }
        var batched = config.MaxBatchSize > 0;
        return new BackendSignature(Tensors(config.Input, batched), Tensors(config.Output, batched));
    }
}

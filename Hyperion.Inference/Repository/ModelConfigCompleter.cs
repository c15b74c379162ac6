using Hyperion.Contracts.Models;
using Hyperion.Contracts.Tensors;
using Hyperion.Inference.Backends;

namespace Hyperion.Inference.Repository;

/// <summary>
/// Triton-style auto-complete: fills in what the config leaves out from the model file and checks what it
/// states against it. Inputs the config omits are added; outputs are all of the model's unless the config
/// lists a subset. When max_batch_size is absent and every input and output starts with a dynamic dimension,
/// the model batches with the server's default max_batch_size and, as in Triton's ONNX backend, a dynamic
/// batcher with default settings; a config that states max_batch_size gets exactly what it says. A TorchScript
/// file declares nothing, so its config's inputs and outputs are the signature (checked against the model by a
/// probe run) and an absent max_batch_size means 0.
/// </summary>
internal static class ModelConfigCompleter
{
    public static ModelConfig Complete(ModelConfigSource source, IBackendModel backend, string modelName, int defaultMaxBatchSize)
    {
        var config = source.Config;
        var model = backend.Signature;
        var batchable = SupportsBatching(model, out var unbatchable);
        int maxBatchSize;
        var autoBatched = false;
        // A signature restated from the config cannot say whether dimension 0 is a batch: the config decides (absent is 0).
        if (source.MaxBatchSizeGiven || backend.SignatureFromConfig)
        {
            maxBatchSize = config.MaxBatchSize;
            if (maxBatchSize > 0 && !batchable)
            {
                throw new ModelLoadException(
                    $"max_batch_size {maxBatchSize} needs a dynamic first dimension on every input and output, " +
                    $"but {unbatchable}; set max_batch_size to 0");
            }
        }
        else
        {
            maxBatchSize = batchable ? defaultMaxBatchSize : 0;
            autoBatched = batchable;
        }

        var completed = config with
        {
            Name = modelName,
            Platform = backend.Platform,
            MaxBatchSize = maxBatchSize,
            Input = CompleteTensors(config.Input, model.Inputs, maxBatchSize, "input", keepSubset: false),
            Output = CompleteTensors(config.Output, model.Outputs, maxBatchSize, "output", keepSubset: true),
            DynamicBatching = config.DynamicBatching ?? (autoBatched && maxBatchSize > 1 ? new DynamicBatchingConfig() : null),
            InstanceGroup = config.InstanceGroup.Count > 0 ? config.InstanceGroup : [new InstanceGroupConfig()],
        };
        ModelConfigValidator.ValidateBatching(completed);
        return completed;
    }

    private static bool SupportsBatching(BackendSignature model, out string? reason)
    {
        foreach (var tensor in (IEnumerable<BackendTensorInfo>)[.. model.Inputs, .. model.Outputs])
        {
            if (tensor.Dims.Length == 0 || tensor.Dims[0] != -1)
            {
                reason = $"'{tensor.Name}' has shape {ModelConfigRules.FormatDims(tensor.Dims)}";
                return false;
            }
        }
        reason = null;
        return true;
    }

    private static List<ModelTensorConfig> CompleteTensors(
        IReadOnlyList<ModelTensorConfig> declared, IReadOnlyList<BackendTensorInfo> model, int maxBatchSize, string role, bool keepSubset)
    {
        foreach (var tensor in declared)
        {
            if (!Contains(model, tensor.Name))
            {
                throw new ModelLoadException(
                    $"config {role} '{tensor.Name}' is not an {role} of the model; the model's {role}s are {JoinNames(model)}");
            }
        }

        var completed = new List<ModelTensorConfig>(model.Count);
        foreach (var actual in model)
        {
            if (actual.DataType is not { } dataType)
            {
                throw new ModelLoadException(
                    $"{role} '{actual.Name}' has ONNX element type {actual.TypeName}, which has no OIP datatype; supported: {TensorDataTypes.SupportedNames}");
            }
            var expectedDims = maxBatchSize > 0 ? actual.Dims[1..] : actual.Dims;
            var stated = Find(declared, actual.Name);
            if (stated is null)
            {
                if (!keepSubset || declared.Count == 0)
                {
                    completed.Add(new ModelTensorConfig { Name = actual.Name, DataType = dataType.ToOipName(), Dims = expectedDims });
                }
                continue;
            }
            if (!string.Equals(stated.DataType, dataType.ToOipName(), StringComparison.Ordinal))
            {
                throw new ModelLoadException(
                    $"config {role} '{actual.Name}' has datatype {stated.DataType}, but the model's is {dataType.ToOipName()}");
            }
            if (!ModelConfigRules.DimsAgree(stated.Dims, expectedDims))
            {
                var batchNote = maxBatchSize > 0 ? $" (dims exclude the batch dimension because max_batch_size is {maxBatchSize})" : "";
                throw new ModelLoadException(
                    $"config {role} '{actual.Name}' has dims {ModelConfigRules.FormatDims(stated.Dims)}, but the model's are {ModelConfigRules.FormatDims(expectedDims)}{batchNote}");
            }
            completed.Add(stated);
        }
        return completed;
    }

    private static bool Contains(IReadOnlyList<BackendTensorInfo> tensors, string name)
    {
        foreach (var tensor in tensors)
        {
            if (string.Equals(tensor.Name, name, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    private static ModelTensorConfig? Find(IReadOnlyList<ModelTensorConfig> tensors, string name)
    {
        foreach (var tensor in tensors)
        {
            if (string.Equals(tensor.Name, name, StringComparison.Ordinal))
            {
                return tensor;
            }
        }
        return null;
    }

    private static string JoinNames(IReadOnlyList<BackendTensorInfo> tensors)
    {
        var names = new string[tensors.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = tensors[i].Name;
        }
        return string.Join(", ", names);
    }

}

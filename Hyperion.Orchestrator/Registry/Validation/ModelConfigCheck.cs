using System.Text.Json;
using System.Text.Json.Serialization;
using Hyperion.Contracts.Models;

namespace Hyperion.Orchestrator.Registry.Validation;

/// <summary>
/// Checks an uploaded repository config against the artifact's signature and completes it the way the inference
/// server's auto-complete does, so the stored config is the one replicas will serve: inputs the config leaves out
/// are added; outputs are all of the model's unless the config lists a subset; without <c>max_batch_size</c>, a
/// model whose inputs and outputs all start with a variable dimension batches up to the default with a dynamic
/// batcher, any other gets 0.
/// </summary>
internal static class ModelConfigCheck
{
    // As the inference server reads config.json: a misspelt setting must not be silently dropped.
    private static readonly JsonSerializerOptions ReadOptions = new()
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    private static readonly JsonSerializerOptions WriteOptions = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Parses the <c>config</c> part; <see cref="FormatException"/> when it is not a model config.</summary>
    public static (ModelConfig Config, bool MaxBatchSizeGiven) Parse(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"config must be a JSON object (the repository config.json), got {document.RootElement.ValueKind}");
            }
            var config = document.RootElement.Deserialize<ModelConfig>(ReadOptions) ?? throw new FormatException("config is empty");
            return (Normalize(config), document.RootElement.TryGetProperty("max_batch_size", out _));
        }
        catch (JsonException ex)
        {
            throw new FormatException($"config is not a valid model config: {ex.Message}", ex);
        }
    }

    public static string Serialize(ModelConfig config) => JsonSerializer.Serialize(config, WriteOptions);

    /// <summary>The config to store: <paramref name="given"/> checked against <paramref name="signature"/> and completed.</summary>
    /// <exception cref="ConfigMismatchException">The config contradicts the model or itself.</exception>
    public static ModelConfig Complete(ModelConfig given, bool maxBatchSizeGiven, ArtifactSignature signature, string modelName, int defaultMaxBatchSize)
    {
        if (given.Name is { Length: > 0 } name && !string.Equals(name, modelName, StringComparison.Ordinal))
        {
            Fail($"name '{name}' does not match the model's name '{modelName}' (leave it out)");
        }
        var torchScript = signature.Format == TorchScriptArtifactReader.Format;
        var platform = torchScript ? ModelPlatforms.PyTorch : ModelPlatforms.OnnxRuntime;
        if (given.Platform is { } stated && ModelPlatforms.Canonical(stated) != platform)
        {
            Fail($"platform '{stated}' does not match the artifact, {(torchScript ? "a TorchScript module" : "an ONNX model")}; expected \"{platform}\" (or leave it out)");
        }
        // A TorchScript signature is the config's own: it cannot say whether dimension 0 is a batch (absent is 0).
        maxBatchSizeGiven |= torchScript;
        CheckTensorList(given.Input, "input");
        CheckTensorList(given.Output, "output");

        var batchable = SupportsBatching(signature, out var unbatchable);
        int maxBatchSize;
        var autoBatched = false;
        if (maxBatchSizeGiven)
        {
            maxBatchSize = given.MaxBatchSize;
            if (maxBatchSize < 0)
            {
                Fail($"max_batch_size must be 0 (no batch dimension) or positive, got {maxBatchSize}");
            }
            if (maxBatchSize > 0 && !batchable)
            {
                Fail($"max_batch_size {maxBatchSize} needs a variable first dimension on every input and output, but {unbatchable}; set max_batch_size to 0");
            }
        }
        else
        {
            maxBatchSize = batchable ? defaultMaxBatchSize : 0;
            autoBatched = batchable;
        }

        var completed = given with
        {
            Name = modelName,
            Platform = platform,
            MaxBatchSize = maxBatchSize,
            Input = CompleteTensors(given.Input, signature.Inputs, maxBatchSize, "input", keepSubset: false),
            Output = CompleteTensors(given.Output, signature.Outputs, maxBatchSize, "output", keepSubset: true),
            DynamicBatching = given.DynamicBatching ?? (autoBatched && maxBatchSize > 1 ? new DynamicBatchingConfig() : null),
        };
        CheckBatching(completed);
        CheckInstanceGroups(completed.InstanceGroup);
        return completed;
    }

    private static bool SupportsBatching(ArtifactSignature signature, out string? reason)
    {
        foreach (var tensor in signature.Inputs.Concat(signature.Outputs))
        {
            if (tensor.Dims.Count == 0 || tensor.Dims[0] != -1)
            {
                reason = $"'{tensor.Name}' has shape {ModelConfigRules.FormatDims(tensor.Dims)}";
                return false;
            }
        }
        reason = null;
        return true;
    }

    private static List<ModelTensorConfig> CompleteTensors(
        IReadOnlyList<ModelTensorConfig> declared, IReadOnlyList<TensorSignature> model, int maxBatchSize, string role, bool keepSubset)
    {
        foreach (var tensor in declared)
        {
            if (!model.Any(actual => string.Equals(actual.Name, tensor.Name, StringComparison.Ordinal)))
            {
                Fail($"{role} '{tensor.Name}' is not an {role} of the model; the model's {role}s are {string.Join(", ", model.Select(t => t.Name))}");
            }
        }
        var completed = new List<ModelTensorConfig>(model.Count);
        foreach (var actual in model)
        {
            var expectedDims = maxBatchSize > 0 ? actual.Dims.Skip(1).ToArray() : [.. actual.Dims];
            var stated = declared.FirstOrDefault(tensor => string.Equals(tensor.Name, actual.Name, StringComparison.Ordinal));
            if (stated is null)
            {
                if (!keepSubset || declared.Count == 0)
                {
                    completed.Add(new ModelTensorConfig { Name = actual.Name, DataType = actual.Datatype, Dims = expectedDims });
                }
                continue;
            }
            if (!string.Equals(stated.DataType, actual.Datatype, StringComparison.Ordinal))
            {
                Fail($"{role} '{actual.Name}' has datatype {stated.DataType}, but the model's is {actual.Datatype}");
            }
            if (!ModelConfigRules.DimsAgree(stated.Dims, expectedDims))
            {
                var batchNote = maxBatchSize > 0 ? $" (dims exclude the batch dimension because max_batch_size is {maxBatchSize})" : "";
                Fail($"{role} '{actual.Name}' has dims {ModelConfigRules.FormatDims(stated.Dims)}, but the model's are {ModelConfigRules.FormatDims(expectedDims)}{batchNote}");
            }
            completed.Add(stated);
        }
        return completed;
    }

    private static void CheckTensorList(IReadOnlyList<ModelTensorConfig> tensors, string role)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            if (string.IsNullOrEmpty(tensor.Name))
            {
                Fail($"every {role} needs a name");
            }
            if (!seen.Add(tensor.Name))
            {
                Fail($"{role} '{tensor.Name}' is listed twice");
            }
            if (tensor.Dims is null)
            {
                Fail($"{role} '{tensor.Name}' needs dims");
            }
            if (tensor.Dims.Any(dim => dim is 0 or < -1))
            {
                Fail($"{role} '{tensor.Name}' dims {ModelConfigRules.FormatDims(tensor.Dims)}: each dim must be positive or -1 (variable)");
            }
        }
    }

    private static void CheckBatching(ModelConfig config)
    {
        if (config.DynamicBatching is not { } batching)
        {
            return;
        }
        if (ModelConfigRules.BatchSizeProblem(config) is { } problem)
        {
            Fail(problem);
        }
        if (batching.MaxQueueDelayMicroseconds < 0 || batching.MaxQueueSize < 0 || batching.DefaultTimeoutMicroseconds < 0)
        {
            Fail("dynamic_batching's max_queue_delay_microseconds, max_queue_size and default_timeout_microseconds must not be negative");
        }
    }

    private static void CheckInstanceGroups(IReadOnlyList<InstanceGroupConfig> groups)
    {
        foreach (var group in groups)
        {
            if (group.Count < 1)
            {
                Fail($"instance_group count must be at least 1, got {group.Count}");
            }
            if (group.Kind is not ("cpu" or "gpu"))
            {
                Fail($"instance_group kind '{group.Kind}' is not supported; expected \"cpu\" or \"gpu\"");
            }
        }
    }

    // "input": null and friends deserialize to null despite the non-nullable defaults.
    private static ModelConfig Normalize(ModelConfig config) => config with
    {
        Input = config.Input ?? [],
        Output = config.Output ?? [],
        InstanceGroup = config.InstanceGroup is null
            ? []
            : [.. config.InstanceGroup.Select(group => group.Gpus is null ? group with { Gpus = [] } : group)],
        DynamicBatching = config.DynamicBatching is { PreferredBatchSize: null } batching
            ? batching with { PreferredBatchSize = [] }
            : config.DynamicBatching,
    };

    /// <summary>"inputs pixels FP32 [-1,64]; outputs probabilities FP32 [-1,10]", for messages.</summary>
    public static string Describe(ArtifactSignature signature) =>
        $"inputs {Join(signature.Inputs)}; outputs {Join(signature.Outputs)}";

    private static string Join(IReadOnlyList<TensorSignature> tensors) =>
        string.Join(", ", tensors.Select(tensor => $"{tensor.Name} {tensor.Datatype} {ModelConfigRules.FormatDims(tensor.Dims)}"));

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(string reason) => throw new ConfigMismatchException($"config: {reason}");
}

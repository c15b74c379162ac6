using System.Text.Json.Serialization;

namespace Hyperion.Contracts.Models;

/// <summary>
/// A model's repository configuration: Triton's model configuration, in JSON with OIP datatype names
/// (see API.md). Shared by the inference server (which serves it) and the control plane (which stores it).
/// </summary>
public sealed record ModelConfig
{
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    /// <summary>
    /// "onnxruntime" (model.onnx) or "pytorch_libtorch" (model.pt, TorchScript); see <see cref="ModelPlatforms"/>.
    /// Absent: the file in the version folder decides. Completed configs always name it.
    /// </summary>
    [JsonPropertyName("platform")]
    public string? Platform { get; init; }

    /// <summary>Largest batch the model accepts along dimension 0; 0 means the model has no batch dimension.</summary>
    [JsonPropertyName("max_batch_size")]
    public int MaxBatchSize { get; init; }

    [JsonPropertyName("input")]
    public IReadOnlyList<ModelTensorConfig> Input { get; init; } = [];

    [JsonPropertyName("output")]
    public IReadOnlyList<ModelTensorConfig> Output { get; init; } = [];

    /// <summary>Absent: every request runs on its own.</summary>
    [JsonPropertyName("dynamic_batching")]
    public DynamicBatchingConfig? DynamicBatching { get; init; }

    [JsonPropertyName("instance_group")]
    public IReadOnlyList<InstanceGroupConfig> InstanceGroup { get; init; } = [];

    [JsonPropertyName("version_policy")]
    public VersionPolicyConfig? VersionPolicy { get; init; }

    [JsonPropertyName("optimization")]
    public OptimizationConfig? Optimization { get; init; }
}

/// <summary>An input or output. <c>dims</c> excludes the batch dimension when <c>max_batch_size</c> &gt; 0, as in Triton; -1 is variable.</summary>
public sealed record ModelTensorConfig
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>OIP datatype name, e.g. "FP32".</summary>
    [JsonPropertyName("datatype")]
    public required string DataType { get; init; }

    [JsonPropertyName("dims")]
    public required IReadOnlyList<long> Dims { get; init; }
}

public sealed record DynamicBatchingConfig
{
    /// <summary>Batch sizes the batcher cuts at as soon as it has them; empty means cut at max_batch_size.</summary>
    [JsonPropertyName("preferred_batch_size")]
    public IReadOnlyList<int> PreferredBatchSize { get; init; } = [];

    /// <summary>How long the oldest request may wait for a batch to fill.</summary>
    [JsonPropertyName("max_queue_delay_microseconds")]
    public long MaxQueueDelayMicroseconds { get; init; }

    /// <summary>Requests waiting beyond this are refused with 503 + Retry-After; 0 means the server's default bound.</summary>
    [JsonPropertyName("max_queue_size")]
    public int MaxQueueSize { get; init; }

    /// <summary>A queued request older than this is dropped before it runs; 0 means no timeout.</summary>
    [JsonPropertyName("default_timeout_microseconds")]
    public long DefaultTimeoutMicroseconds { get; init; }
}

public sealed record InstanceGroupConfig
{
    /// <summary>Parallel execution instances (ONNX Runtime sessions).</summary>
    [JsonPropertyName("count")]
    public int Count { get; init; } = 1;

    /// <summary>"cpu" or "gpu".</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; init; } = "cpu";

    /// <summary>GPU device ids for kind "gpu"; empty means device 0.</summary>
    [JsonPropertyName("gpus")]
    public IReadOnlyList<int> Gpus { get; init; } = [];

    /// <summary>
    /// Kind "gpu" only: when the CUDA execution provider cannot be used (a CPU-only build, no CUDA libraries or
    /// driver), open this group's instances on CPU and say so in the version's status, instead of failing the load.
    /// Written only when true, so configs that leave it out keep their stored form.
    /// </summary>
    [JsonPropertyName("allow_cpu_fallback")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool AllowCpuFallback { get; init; }
}

/// <summary>Exactly one of the three is set, as in Triton; none set means latest(1).</summary>
public sealed record VersionPolicyConfig
{
    [JsonPropertyName("latest")]
    public LatestVersionPolicy? Latest { get; init; }

    [JsonPropertyName("all")]
    public AllVersionPolicy? All { get; init; }

    [JsonPropertyName("specific")]
    public SpecificVersionPolicy? Specific { get; init; }
}

public sealed record LatestVersionPolicy
{
    [JsonPropertyName("num_versions")]
    public int NumVersions { get; init; } = 1;
}

public sealed record AllVersionPolicy;

public sealed record SpecificVersionPolicy
{
    [JsonPropertyName("versions")]
    public IReadOnlyList<long> Versions { get; init; } = [];
}

/// <summary>ONNX Runtime session options.</summary>
public sealed record OptimizationConfig
{
    /// <summary>"disabled", "basic", "extended" or "all" (default).</summary>
    [JsonPropertyName("graph_optimization_level")]
    public string? GraphOptimizationLevel { get; init; }

    /// <summary>Threads per session for one operator; 0 lets ONNX Runtime choose.</summary>
    [JsonPropertyName("intra_op_threads")]
    public int IntraOpThreads { get; init; }

    /// <summary>Threads per session across operators; 0 lets ONNX Runtime choose.</summary>
    [JsonPropertyName("inter_op_threads")]
    public int InterOpThreads { get; init; }
}

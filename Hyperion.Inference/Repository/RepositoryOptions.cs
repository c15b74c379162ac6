using Microsoft.Extensions.Options;

namespace Hyperion.Inference.Repository;

/// <summary>Settings of the section <c>Inference</c>; <c>--model-repository DIR</c> binds <see cref="ModelRepository"/>.</summary>
public sealed class RepositoryOptions
{
    public const string SectionName = "Inference";

    /// <summary>Triton-layout model repository. Empty: an empty folder under the temp directory, so the server starts with no models.</summary>
    public string? ModelRepository { get; set; }

    /// <summary>This replica's name in logs and in what it reports to the control plane; defaults to the machine name.</summary>
    public string? ReplicaId { get; set; }

    /// <summary>Queue bound for models whose config sets no <c>max_queue_size</c> (or has no dynamic batcher).</summary>
    public int DefaultMaxQueueSize { get; set; } = 1024;

    /// <summary>
    /// <c>max_batch_size</c> that auto-complete gives a model whose inputs and outputs all start with a dynamic
    /// dimension when the config does not say; 4, as Triton's <c>default-max-batch-size</c>.
    /// </summary>
    public int DefaultMaxBatchSize { get; set; } = 4;

    /// <summary>
    /// Whether ONNX Runtime's idle intra/inter-op threads busy-wait for the next operator (ORT's own default).
    /// Off by default: in a server the spinning threads compete with the request handling that feeds them.
    /// </summary>
    public bool OnnxThreadSpinning { get; set; }

    /// <summary>
    /// A model without a dynamic batcher whose runs take at most this long on average runs on the thread that
    /// received the request (when an instance is free and nothing is queued) instead of handing it to the
    /// instance's worker thread and back: two thread wake-ups saved per request, which for a small model cost more
    /// than the model. Slower models keep their worker, so a long run never holds up the request I/O; 0 disables.
    /// </summary>
    public int InlineExecutionMaxMicroseconds { get; set; } = 100;
}

internal sealed class RepositoryOptionsSetup : IPostConfigureOptions<RepositoryOptions>
{
    public void PostConfigure(string? name, RepositoryOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ModelRepository))
        {
            // No repository given: serve nothing rather than refuse to start (models can be loaded later).
            var empty = Path.Combine(Path.GetTempPath(), $"hyperion-empty-repository-{Environment.ProcessId}");
            Directory.CreateDirectory(empty);
            options.ModelRepository = empty;
        }
        if (string.IsNullOrWhiteSpace(options.ReplicaId))
        {
            options.ReplicaId = Environment.MachineName;
        }
    }
}

internal sealed class RepositoryOptionsValidator : IValidateOptions<RepositoryOptions>
{
    public ValidateOptionsResult Validate(string? name, RepositoryOptions options)
    {
        const string section = RepositoryOptions.SectionName;
        var failures = new OptionsFailures();
        if (!Directory.Exists(options.ModelRepository))
        {
            failures.Add(
                $"{section}:ModelRepository '{options.ModelRepository}' is not a directory; " +
                "pass --model-repository DIR with a Triton-layout repository (DIR/<model>/<version>/model.onnx).");
        }
        failures.AtLeast(section, options.DefaultMaxQueueSize, 1);
        failures.AtLeast(section, options.DefaultMaxBatchSize, 1);
        if (options.InlineExecutionMaxMicroseconds < 0)
        {
            failures.Add($"{section}:InlineExecutionMaxMicroseconds must be 0 (never) or positive, got {options.InlineExecutionMaxMicroseconds}.");
        }
        return failures.Result();
    }
}

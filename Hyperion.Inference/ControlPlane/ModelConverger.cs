using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Contracts.Models;
using Hyperion.Contracts.Inference;
using Hyperion.Inference.Repository;
using Hyperion.Inference.Serving;
using Microsoft.Extensions.Options;

namespace Hyperion.Inference.ControlPlane;

/// <summary>
/// Makes the model repository hold what the control plane says, in Triton's layout:
/// <c>&lt;model&gt;/&lt;version&gt;/model.onnx</c> or <c>model.pt</c>, as its platform says (verified against its digest before it is put there),
/// <c>&lt;model&gt;/&lt;version&gt;/config.json</c> (the version's config with the deployment's overrides; each version
/// keeps its own, so one version's settings never break another's), and <c>&lt;model&gt;/config.json</c> whose
/// <c>version_policy</c> lists the desired versions whose files are in place. Then the repository loads: new versions
/// load beside the serving ones, versions no longer listed are unloaded after in-flight requests finish.
/// A version whose download or load fails is reported failed with the reason and retried with backoff.
/// Only the agent's loop calls <see cref="ApplyAsync"/>; <see cref="Report"/> may be called at any time.
/// </summary>
internal sealed partial class ModelConverger(
    ModelRepository repository,
    ArtifactFetcher fetcher,
    ConvergenceMetrics metrics,
    IOptions<ControlPlaneOptions> options,
    TimeProvider time,
    ILogger<ModelConverger> logger)
{
    /// <summary>Where downloads land until verified; a dot folder, which the repository never takes for a model.</summary>
    public const string ScratchFolder = ".downloads";

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(2);
    private static readonly JsonSerializerOptions ConfigJson = new() { WriteIndented = true };

    // Downloads in progress (loading) and failed downloads (failed, with when to try again).
    private readonly ConcurrentDictionary<(string Model, long Version), AgentState> _downloads = new();

    // Failed loads: when to try again. Only the agent's loop touches it.
    private readonly Dictionary<(string Model, long Version), AgentState> _loadFailures = [];

    private string Scratch => Path.Combine(repository.Root, ScratchFolder);

    /// <summary>Removes downloads a previous run left unfinished.</summary>
    public void ClearScratch()
    {
        if (Directory.Exists(Scratch))
        {
            Directory.Delete(Scratch, recursive: true);
        }
    }

    /// <summary>One pass towards <paramref name="desired"/>; true when it loaded, unloaded or changed files.</summary>
    public async Task<bool> ApplyAsync(DesiredModelSet desired, CancellationToken cancellationToken)
    {
        var wanted = desired.Models
            .GroupBy(version => version.Model, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.OrderBy(version => version.Version).ToList(), StringComparer.Ordinal);
        var changed = false;
        foreach (var (model, versions) in wanted)
        {
            changed |= await ConvergeModelAsync(model, versions, cancellationToken);
        }
        changed |= await RemoveModelsAsync(wanted, cancellationToken);

        var desiredKeys = desired.Models.Select(version => (version.Model, version.Version)).ToHashSet();
        foreach (var key in _downloads.Keys.Where(key => !desiredKeys.Contains(key)).ToList())
        {
            _downloads.TryRemove(key, out _);
        }
        foreach (var key in _loadFailures.Keys.Where(key => !desiredKeys.Contains(key)).ToList())
        {
            _loadFailures.Remove(key);
        }
        return changed;
    }

    /// <summary>
    /// The state of every model version this replica holds or is getting: the repository's (loading, ready, failed,
    /// unloading) and the agent's (downloading counts as loading; a failed download as failed); a desired version
    /// not started yet is loading.
    /// </summary>
    public IReadOnlyList<ReplicaModelState> Report(DesiredModelSet? desired)
    {
        var states = new Dictionary<(string, long), ReplicaModelState>();
        foreach (var entry in repository.Index())
        {
            if (!long.TryParse(entry.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                continue;
            }
            ReplicaModelPhase? phase = entry.State switch
            {
                ModelVersionState.Loading => ReplicaModelPhase.Loading,
                ModelVersionState.Ready => ReplicaModelPhase.Ready,
                ModelVersionState.Failed => ReplicaModelPhase.Failed,
                ModelVersionState.Unloading => ReplicaModelPhase.Unloading,
                _ => null,
            };
            if (phase is { } known)
            {
                states[(entry.Name, version)] = new ReplicaModelState(entry.Name, version, known, entry.Reason);
            }
        }
        foreach (var ((model, version), state) in _downloads)
        {
            if (!states.TryGetValue((model, version), out var current) || current.State != ReplicaModelPhase.Ready)
            {
                states[(model, version)] = new ReplicaModelState(model, version, state.Phase, state.Reason);
            }
        }
        foreach (var wanted in desired?.Models ?? [])
        {
            states.TryAdd((wanted.Model, wanted.Version), new ReplicaModelState(wanted.Model, wanted.Version, ReplicaModelPhase.Loading, "queued"));
        }
        var report = states.Values.OrderBy(state => state.Model, StringComparer.Ordinal).ThenBy(state => state.Version).ToList();
        metrics.RecordReport(report);
        return report;
    }

    private async Task<bool> ConvergeModelAsync(string model, List<DesiredModelVersion> versions, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(repository.Root, model);
        if (!IsFolderName(model))
        {
            foreach (var version in versions)
            {
                _downloads[(model, version.Version)] = AgentState.Failed($"model name '{model}' cannot be a repository folder", 1, DateTimeOffset.MaxValue);
            }
            return false;
        }

        var filesChanged = false;
        var inPlace = new List<long>();
        foreach (var version in versions)
        {
            var key = (model, version.Version);
            var versionDirectory = Path.Combine(directory, version.Version.ToString(CultureInfo.InvariantCulture));
            var modelPath = Path.Combine(versionDirectory, ModelFileName(version.Config));
            var step = "writing its config.json";
            try
            {
                // The config goes first, so a model file never loads with a stale config.
                filesChanged |= WriteIfChanged(Path.Combine(versionDirectory, ModelConfigSource.FileName), version.Config.ToJsonString(ConfigJson));
                step = "checking the model file in place";
                if (!await fetcher.IsInPlaceAsync(modelPath, version.Digest, cancellationToken))
                {
                    step = "download";
                    if (_downloads.TryGetValue(key, out var failed) && failed.Phase == ReplicaModelPhase.Failed && time.GetUtcNow() < failed.RetryAt)
                    {
                        continue;
                    }
                    _downloads[key] = AgentState.Downloading;
                    LogDownloading(logger, model, version.Version, version.Digest, version.SizeBytes);
                    var bytes = await fetcher.FetchAsync(version, modelPath, Scratch, cancellationToken);
                    metrics.RecordOperation("download", success: true);
                    LogDownloaded(logger, model, version.Version, bytes);
                    filesChanged = true;
                }
                _downloads.TryRemove(key, out _);
                inPlace.Add(version.Version);
            }
            catch (Exception ex) when (ex is HttpRequestException or ArtifactException or IOException or UnauthorizedAccessException
                                           or OperationCanceledException or TimeoutException or Polly.ExecutionRejectedException
                                       && !cancellationToken.IsCancellationRequested)
            {
                var failures = (_downloads.TryGetValue(key, out var previous) ? previous.Failures : 0) + 1;
                var delay = Backoff(failures);
                var reason = $"{step} failed: {ex.Message}";
                _downloads[key] = AgentState.Failed(reason, failures, time.GetUtcNow() + delay);
                metrics.RecordOperation("download", success: false);
                LogDownloadFailed(logger, model, version.Version, reason, delay.TotalSeconds);
            }
        }

        if (inPlace.Count == 0)
        {
            // Nothing to load (every download failed so far): keep whatever serves, a policy of no versions would unload it.
            return false;
        }
        var policy = new JsonObject
        {
            ["version_policy"] = new JsonObject { ["specific"] = new JsonObject { ["versions"] = new JsonArray([.. inPlace.Select(v => JsonValue.Create(v))]) } },
        };
        filesChanged |= WriteIfChanged(Path.Combine(directory, ModelConfigSource.FileName), policy.ToJsonString(ConfigJson));

        var readyBefore = ReadyVersions(model);
        var retryDue = inPlace.Where(version => !readyBefore.Contains(version) && LoadRetryDue((model, version))).ToList();
        var changed = false;
        if (filesChanged || retryDue.Count > 0)
        {
            await LoadAsync(model, inPlace, readyBefore, filesChanged ? "the desired versions or their files changed" : "retrying versions that failed to load", cancellationToken);
            changed = true;
        }
        changed |= DeleteUndesiredVersionFolders(directory, versions);
        return changed;
    }

    private async Task LoadAsync(string model, List<long> versions, HashSet<long> readyBefore, string why, CancellationToken cancellationToken)
    {
        LogLoading(logger, model, string.Join(", ", versions), why);
        try
        {
            await repository.LoadAsync(model, cancellationToken);
        }
        catch (InferenceException)
        {
            // The repository recorded (and logged) each failed version with its reason; the others loaded.
        }

        var index = repository.Index().Where(entry => entry.Name == model).ToList();
        var readyAfter = ReadyVersions(model);
        foreach (var version in versions)
        {
            var key = (model, version);
            if (readyAfter.Contains(version))
            {
                _loadFailures.Remove(key);
                if (!readyBefore.Contains(version))
                {
                    metrics.RecordOperation("load", success: true);
                    LogLoaded(logger, model, version);
                }
                continue;
            }
            var failures = (_loadFailures.TryGetValue(key, out var previous) ? previous.Failures : 0) + 1;
            var delay = Backoff(failures);
            var reason = index.FirstOrDefault(entry => entry.Version == version.ToString(CultureInfo.InvariantCulture))?.Reason ?? "not ready after loading";
            _loadFailures[key] = AgentState.Failed(reason, failures, time.GetUtcNow() + delay);
            metrics.RecordOperation("load", success: false);
            LogLoadFailed(logger, model, version, reason, delay.TotalSeconds);
        }
        foreach (var version in readyBefore.Where(version => !versions.Contains(version)))
        {
            metrics.RecordOperation("unload", success: true);
            LogUnloaded(logger, model, version, "no longer desired by the control plane");
        }
    }

    /// <summary>Unloads and deletes model folders the desired set no longer names.</summary>
    /// <summary>The registry stores completed configs, which always name their platform.</summary>
    private static string ModelFileName(System.Text.Json.Nodes.JsonObject config) =>
        ModelPlatforms.FileName(ModelPlatforms.Canonical((string?)config["platform"]) ?? ModelPlatforms.OnnxRuntime);

    private async Task<bool> RemoveModelsAsync(Dictionary<string, List<DesiredModelVersion>> wanted, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(repository.Root))
        {
            return false;
        }
        var changed = false;
        foreach (var directory in Directory.EnumerateDirectories(repository.Root).ToList())
        {
            var model = Path.GetFileName(directory);
            if (model.StartsWith('.') || wanted.ContainsKey(model))
            {
                continue;
            }
            var ready = ReadyVersions(model);
            try
            {
                await repository.UnloadAsync(model, cancellationToken);
            }
            catch (InferenceException)
            {
                // Never loaded (e.g. its downloads all failed): nothing to unload.
            }
            foreach (var version in ready)
            {
                metrics.RecordOperation("unload", success: true);
                LogUnloaded(logger, model, version, "its deployment is gone or no longer placed on this replica");
            }
            DeleteFolder(directory);
            changed = true;
        }
        return changed;
    }

    private bool DeleteUndesiredVersionFolders(string directory, List<DesiredModelVersion> versions)
    {
        var changed = false;
        foreach (var folder in Directory.EnumerateDirectories(directory).ToList())
        {
            if (long.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
                && !versions.Any(wanted => wanted.Version == version))
            {
                DeleteFolder(folder);
                changed = true;
            }
        }
        return changed;
    }

    private void DeleteFolder(string folder)
    {
        try
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
            {
                fetcher.Forget(file);
            }
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Unloaded already; the files only take space. Next pass tries again.
            LogDeleteFailed(logger, ex, folder);
        }
    }

    private HashSet<long> ReadyVersions(string model)
    {
        var ready = new HashSet<long>();
        foreach (var entry in repository.Index())
        {
            if (entry.Name == model && entry.State == ModelVersionState.Ready
                && long.TryParse(entry.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                ready.Add(version);
            }
        }
        return ready;
    }

    private bool LoadRetryDue((string, long) key) =>
        !_loadFailures.TryGetValue(key, out var failed) || time.GetUtcNow() >= failed.RetryAt;

    private TimeSpan Backoff(int failures)
    {
        var max = TimeSpan.FromSeconds(options.Value.MaxRetryDelaySeconds);
        var delay = FirstRetryDelay * Math.Pow(2, Math.Min(failures - 1, 16));
        return delay < max ? delay : max;
    }

    /// <summary>Writes <paramref name="content"/> unless the file already holds it (an unchanged file must not trigger a reload).</summary>
    private static bool WriteIfChanged(string path, string content)
    {
        var bytes = Encoding.UTF8.GetBytes(content);
        if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
        {
            return false;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
        return true;
    }

    private static bool IsFolderName(string model) =>
        model.Length > 0 && model is not ("." or "..") && !model.StartsWith('.')
        && model.AsSpan().IndexOfAny('/', '\\') < 0 && model.AsSpan().IndexOfAny(Path.GetInvalidFileNameChars()) < 0;

    private sealed record AgentState(ReplicaModelPhase Phase, string? Reason, int Failures, DateTimeOffset RetryAt)
    {
        public static AgentState Downloading { get; } = new(ReplicaModelPhase.Loading, "downloading the artifact", 0, DateTimeOffset.MinValue);

        public static AgentState Failed(string reason, int failures, DateTimeOffset retryAt) => new(ReplicaModelPhase.Failed, reason, failures, retryAt);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Downloading model {Model} version {Version} ({Digest}, {Bytes} bytes)")]
    private static partial void LogDownloading(ILogger logger, string model, long version, string digest, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Downloaded model {Model} version {Version}: {Bytes} bytes, digest verified")]
    private static partial void LogDownloaded(ILogger logger, string model, long version, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model} version {Version}: {Reason}; retrying in {Seconds:F0} s")]
    private static partial void LogDownloadFailed(ILogger logger, string model, long version, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Loading model {Model} versions [{Versions}]: {Why}")]
    private static partial void LogLoading(ILogger logger, string model, string versions, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} version {Version} is ready (desired by the control plane)")]
    private static partial void LogLoaded(ILogger logger, string model, long version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model} version {Version} failed to load: {Reason}; retrying in {Seconds:F0} s")]
    private static partial void LogLoadFailed(ILogger logger, string model, long version, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unloaded model {Model} version {Version}: {Reason}")]
    private static partial void LogUnloaded(ILogger logger, string model, long version, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete {Folder}")]
    private static partial void LogDeleteFailed(ILogger logger, Exception exception, string folder);
}

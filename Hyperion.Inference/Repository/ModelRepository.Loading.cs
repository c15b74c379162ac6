using System.Globalization;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Models;
using Hyperion.Inference.Backends;
using Hyperion.Inference.Batching;
using Hyperion.Inference.Serving;
using Microsoft.Extensions.Logging;

namespace Hyperion.Inference.Repository;

internal sealed partial class ModelRepository
{
    /// <summary>
    /// (Re)loads the versions the policy selects. Unchanged versions keep serving untouched; changed and new
    /// ones load beside them and replace them in one state swap; versions no longer selected are retired.
    /// A version that fails to reload keeps serving its previous files. Runs under the model's gate.
    /// </summary>
    private void LoadModel(ModelEntry entry)
    {
        var name = entry.Name;
        var directory = Path.Combine(Root, name);
        var previous = entry.State;
        if (!Directory.Exists(directory))
        {
            entry.State = ModelState.Empty;
            _models.TryRemove(new KeyValuePair<string, ModelEntry>(name, entry));
            RetireAll(previous, name);
            throw new InferenceException(InferenceErrorKind.NotFound, $"model '{name}' is not in the model repository {Root}");
        }

        ModelConfigSource source;
        List<long> selected;
        try
        {
            source = ModelConfigSource.Read(directory, name);
            ModelConfigValidator.Validate(source.Config, name);
            selected = VersionPolicy.Select(ListVersionFolders(directory), source.Config.VersionPolicy);
            if (selected.Count == 0)
            {
                throw new ModelLoadException(
                    $"no version folders; expected {name}/<version>/{ModelPlatforms.OnnxFileName} (or {ModelPlatforms.TorchScriptFileName}) with a positive integer version");
            }
        }
        catch (Exception ex) when (ex is ModelLoadException or IOException or UnauthorizedAccessException)
        {
            // Versions that already serve keep serving; the model reports why the new files were refused.
            LogModelFailed(_logger, ex, name);
            entry.State = previous with { Reason = ex.Message };
            throw new InferenceException(InferenceErrorKind.InvalidArgument, $"failed to load model '{name}': {ex.Message}", ex);
        }

        PublishLoading(entry, previous, selected);
        var versions = new List<VersionState>(selected.Count);
        var retired = new List<LoadedModelVersion>();
        var failures = new List<string>();
        foreach (var version in selected)
        {
            var prior = previous.Find(version);
            try
            {
                // A version with its own config.json fails alone when that file is wrong; the others load.
                var versionSource = ModelConfigSource.ReadForVersion(directory, version, source);
                if (!ReferenceEquals(versionSource, source))
                {
                    ModelConfigValidator.Validate(versionSource.Config, name);
                }
                var stamp = StampOf(directory, version, versionSource);
                if (prior?.Loaded is { } current && current.Stamp == stamp)
                {
                    versions.Add(prior with { Reason = current.Placement.Reason });
                    continue;
                }
                var loaded = LoadVersion(name, version, directory, versionSource, stamp);
                versions.Add(new VersionState(version, ModelVersionState.Ready, loaded.Placement.Reason, loaded));
                if (prior?.Loaded is { } replaced)
                {
                    retired.Add(replaced);
                }
                LogVersionLoaded(_logger, name, loaded.Key.Version, loaded.Config.MaxBatchSize,
                    loaded.Scheduler.Policy.Dynamic, loaded.Config.InstanceGroup.Sum(group => group.Count));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                var reason = ex is ModelLoadException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
                failures.Add($"version {version}: {reason}");
                LogVersionFailed(_logger, name, version, reason);
                versions.Add(prior?.Loaded is not null
                    ? prior with { Reason = $"reload failed, still serving the previously loaded files: {reason}" }
                    : new VersionState(version, ModelVersionState.Failed, reason, null));
            }
        }
        foreach (var prior in previous.Versions)
        {
            if (selected.Contains(prior.Version))
            {
                continue;
            }
            if (prior.Loaded is { } dropped)
            {
                retired.Add(dropped);
                versions.Add(new VersionState(prior.Version, ModelVersionState.Unavailable, "unloaded: no longer selected by version_policy", null));
            }
            else if (prior.State == ModelVersionState.Unavailable)
            {
                versions.Add(prior);
            }
        }
        versions.Sort((a, b) => b.Version.CompareTo(a.Version));

        entry.State = new ModelState([.. versions], null);
        foreach (var old in retired)
        {
            old.Retire();
            LogVersionUnloaded(_logger, name, old.Key.Version);
        }
        if (failures.Count > 0)
        {
            throw new InferenceException(
                InferenceErrorKind.InvalidArgument, $"failed to load model '{name}': {string.Join("; ", failures)}");
        }
    }

    /// <summary>Shows versions about to load as Loading in the index; versions that serve keep serving meanwhile.</summary>
    private static void PublishLoading(ModelEntry entry, ModelState previous, List<long> selected)
    {
        var versions = new List<VersionState>(previous.Versions);
        foreach (var version in selected)
        {
            var index = versions.FindIndex(v => v.Version == version);
            if (index < 0)
            {
                versions.Add(new VersionState(version, ModelVersionState.Loading, null, null));
            }
            else if (versions[index].Loaded is null)
            {
                versions[index] = new VersionState(version, ModelVersionState.Loading, null, null);
            }
        }
        versions.Sort((a, b) => b.Version.CompareTo(a.Version));
        entry.State = new ModelState([.. versions], null);
    }

    private LoadedModelVersion LoadVersion(string name, long version, string directory, ModelConfigSource source, FileStamp stamp)
    {
        var versionDirectory = Path.Combine(directory, version.ToString(CultureInfo.InvariantCulture));
        var platform = ModelBackends.PlatformOf(source.Config, versionDirectory);
        var fileName = ModelPlatforms.FileName(platform);
        if (stamp.ModelLength < 0)
        {
            throw new ModelLoadException($"model file {version}/{fileName} not found");
        }
        using var model = ModelBackends.Open(platform, Path.Combine(versionDirectory, fileName), source.Config, _options);
        var config = ModelConfigCompleter.Complete(source, model, name, _options.DefaultMaxBatchSize);
        var signature = new ModelSignature(config);
        var policy = BatchingPolicy.From(config, _options.DefaultMaxQueueSize, _options.InlineExecutionMaxMicroseconds);
        var key = new ModelVersionKey(name, version.ToString(CultureInfo.InvariantCulture));
        var scheduler = new BatchScheduler(key, signature, policy, model.CreateInstances(signature), _metrics, _logger);
        return new LoadedModelVersion(key, version, config, signature, scheduler, stamp, model.Placement);
    }

    private static FileStamp StampOf(string directory, long version, ModelConfigSource source)
    {
        var versionDirectory = Path.Combine(directory, version.ToString(CultureInfo.InvariantCulture));
        string platform;
        try
        {
            platform = ModelBackends.PlatformOf(source.Config, versionDirectory);
        }
        catch (ModelLoadException)
        {
            // An unsupported platform fails the load itself, with the reason.
            return new FileStamp(-1, default, source.Fingerprint);
        }
        var file = new FileInfo(Path.Combine(versionDirectory, ModelPlatforms.FileName(platform)));
        return file.Exists
            ? new FileStamp(file.Length, file.LastWriteTimeUtc, source.Fingerprint)
            : new FileStamp(-1, default, source.Fingerprint);
    }

    private static List<long> ListVersionFolders(string directory)
    {
        var versions = new List<long>();
        foreach (var folder in Directory.EnumerateDirectories(directory))
        {
            if (long.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 0)
            {
                versions.Add(version);
            }
        }
        versions.Sort();
        return versions;
    }

    private void RetireAll(ModelState state, string name)
    {
        foreach (var version in state.Versions)
        {
            if (version.Loaded is { } loaded)
            {
                loaded.Retire();
                LogVersionUnloaded(_logger, name, loaded.Key.Version);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Loaded model {Model} version {Version} (max_batch_size {MaxBatchSize}, dynamic batching {DynamicBatching}, {Instances} instances)")]
    private static partial void LogVersionLoaded(ILogger logger, string model, string version, int maxBatchSize, bool dynamicBatching, int instances);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {Model} version {Version} failed to load: {Reason}")]
    private static partial void LogVersionFailed(ILogger logger, string model, long version, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {Model} failed to load")]
    private static partial void LogModelFailed(ILogger logger, Exception exception, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unloading model {Model} version {Version} once its in-flight requests finish")]
    private static partial void LogVersionUnloaded(ILogger logger, string model, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {ReplicaId}: model repository {Root} has {Ready} versions ready across {Models} models after {Seconds:F1} s")]
    private static partial void LogRepositoryLoaded(ILogger logger, string? replicaId, string root, int ready, int models, double seconds);
}

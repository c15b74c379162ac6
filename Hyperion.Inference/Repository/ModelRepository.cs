using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Hyperion.Contracts.Inference;
using Hyperion.Inference.Backends.Onnx;
using Hyperion.Inference.Batching;
using Hyperion.Inference.Metrics;
using Hyperion.Inference.Serving;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hyperion.Inference.Repository;

/// <summary>
/// The Triton-layout model repository (DIR/&lt;model&gt;/[config.json], DIR/&lt;model&gt;/&lt;version&gt;/model.onnx or model.pt, and
/// optionally DIR/&lt;model&gt;/&lt;version&gt;/config.json, a version's own config replacing the model's):
/// loads the versions each model's version_policy selects, reloads versions whose files changed, unloads,
/// and hands out leases on ready versions to the dispatcher. A version that fails to load is recorded as
/// Failed with the reason and never affects other versions or models.
/// </summary>
internal sealed partial class ModelRepository : IModelCatalog, IDisposable
{
    private readonly ConcurrentDictionary<string, ModelEntry> _models = new(StringComparer.Ordinal);
    private readonly RepositoryOptions _options;
    private readonly InferenceMetrics _metrics;
    private readonly ILogger<ModelRepository> _logger;
    private volatile bool _serverReady;

    public ModelRepository(IOptions<RepositoryOptions> options, InferenceMetrics metrics, ILogger<ModelRepository> logger)
    {
        _options = options.Value;
        _metrics = metrics;
        _logger = logger;
        Root = Path.GetFullPath(_options.ModelRepository!);
        metrics.ObserveModels(ObserveQueueDepths, ObserveReadiness, ObserveInstances);
    }

    public string Root { get; }

    public bool IsServerReady => _serverReady;

    /// <summary>Start-up: tries every model folder once, then reports the server ready whatever each model's outcome.</summary>
    public async Task LoadAllAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        foreach (var name in ListModelFolders())
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await LoadAsync(name, cancellationToken);
            }
            catch (InferenceException)
            {
                // Already logged and recorded in the index; one bad model must not stop the others.
            }
        }
        _serverReady = true;
        var ready = 0;
        foreach (var entry in _models.Values)
        {
            foreach (var version in entry.State.Versions)
            {
                ready += version.State == ModelVersionState.Ready ? 1 : 0;
            }
        }
        LogRepositoryLoaded(_logger, _options.ReplicaId, Root, ready, _models.Count, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    public async Task LoadAsync(string model, CancellationToken cancellationToken)
    {
        CheckModelName(model);
        var entry = _models.GetOrAdd(model, static name => new ModelEntry(name));
        await entry.Gate.WaitAsync(cancellationToken);
        try
        {
            // Loading is CPU and file work; once begun it finishes even if the caller goes away.
            await Task.Run(() => LoadModel(entry), CancellationToken.None);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    public async Task UnloadAsync(string model, CancellationToken cancellationToken)
    {
        if (!_models.TryGetValue(model, out var entry))
        {
            throw new InferenceException(InferenceErrorKind.NotFound, $"unknown model '{model}'");
        }
        await entry.Gate.WaitAsync(cancellationToken);
        try
        {
            var previous = entry.State;
            var versions = new VersionState[previous.Versions.Length];
            for (var i = 0; i < versions.Length; i++)
            {
                versions[i] = new VersionState(previous.Versions[i].Version, ModelVersionState.Unavailable, "unloaded", null);
            }
            entry.State = new ModelState(versions, null);
            foreach (var version in previous.Versions)
            {
                if (version.Loaded is { } loaded)
                {
                    loaded.Retire();
                    LogVersionUnloaded(_logger, model, loaded.Key.Version);
                }
            }
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    public IReadOnlyList<ModelIndexEntry> Index()
    {
        var names = new SortedSet<string>(ListModelFolders(), StringComparer.Ordinal);
        names.UnionWith(_models.Keys);
        var index = new List<ModelIndexEntry>();
        foreach (var name in names)
        {
            if (!_models.TryGetValue(name, out var entry))
            {
                index.Add(new ModelIndexEntry(name, "", ModelVersionState.Unavailable, null));
                continue;
            }
            var state = entry.State;
            if (state.Versions.Length == 0)
            {
                index.Add(new ModelIndexEntry(
                    name, "", state.Reason is null ? ModelVersionState.Unavailable : ModelVersionState.Failed, state.Reason));
                continue;
            }
            for (var i = state.Versions.Length - 1; i >= 0; i--)
            {
                var version = state.Versions[i];
                index.Add(new ModelIndexEntry(
                    name, version.Version.ToString(CultureInfo.InvariantCulture), version.State, version.Reason ?? state.Reason));
            }
        }
        return index;
    }

    public ModelDescriptor Describe(string model, string? version)
    {
        var state = GetEntry(model).State;
        var target = Resolve(model, version, state);
        var ready = new List<string>(state.Versions.Length);
        foreach (var candidate in state.Versions)
        {
            if (candidate.Loaded is not null)
            {
                ready.Add(candidate.Loaded.Key.Version);
            }
        }
        return new ModelDescriptor(model, ready, target.Config);
    }

    public bool IsReady(string model, string? version)
    {
        if (!_models.TryGetValue(model, out var entry))
        {
            return false;
        }
        if (string.IsNullOrEmpty(version))
        {
            foreach (var candidate in entry.State.Versions)
            {
                if (candidate.Loaded is not null)
                {
                    return true;
                }
            }
            return false;
        }
        return TryParseVersion(version, out var number) && entry.State.Find(number)?.Loaded is not null;
    }

    /// <summary>
    /// A lease on the requested version (null or empty: the highest ready one). The caller must <see cref="LoadedModelVersion.Release"/> it.
    /// </summary>
    public LoadedModelVersion Acquire(string model, string? version)
    {
        var entry = GetEntry(model);
        // A version retired between reading the state and taking the lease has a successor in the newer state.
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var target = Resolve(model, version, entry.State);
            if (target.TryAcquire())
            {
                return target;
            }
        }
        throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{model}' is being reloaded; retry");
    }

    public void Dispose()
    {
        foreach (var entry in _models.Values)
        {
            var state = entry.State;
            entry.State = ModelState.Empty;
            foreach (var version in state.Versions)
            {
                version.Loaded?.Retire();
            }
        }
    }

    private ModelEntry GetEntry(string model) =>
        _models.TryGetValue(model, out var entry)
            ? entry
            : throw new InferenceException(InferenceErrorKind.NotFound, $"unknown model '{model}'");

    private static LoadedModelVersion Resolve(string model, string? version, ModelState state)
    {
        if (string.IsNullOrEmpty(version))
        {
            foreach (var candidate in state.Versions)
            {
                if (candidate.Loaded is not null)
                {
                    return candidate.Loaded;
                }
            }
            throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{model}' has no ready version{DescribeFailures(state)}");
        }
        if (!TryParseVersion(version, out var number) || state.Find(number) is not { } found)
        {
            throw new InferenceException(
                InferenceErrorKind.NotFound, $"unknown version '{version}' of model '{model}'; versions: {ListVersions(state)}");
        }
        return found.Loaded ?? throw new InferenceException(
            InferenceErrorKind.Unavailable, $"model '{model}' version {number} is not ready: {found.Reason ?? found.State.ToString()}");
    }

    private static string DescribeFailures(ModelState state)
    {
        if (state.Reason is not null)
        {
            return ": " + state.Reason;
        }
        foreach (var version in state.Versions)
        {
            if (version.Reason is not null)
            {
                return $": version {version.Version}: {version.Reason}";
            }
        }
        return "";
    }

    private static string ListVersions(ModelState state)
    {
        if (state.Versions.Length == 0)
        {
            return "none";
        }
        var versions = new string[state.Versions.Length];
        for (var i = 0; i < versions.Length; i++)
        {
            versions[i] = state.Versions[i].Version.ToString(CultureInfo.InvariantCulture);
        }
        return string.Join(", ", versions);
    }

    private static bool TryParseVersion(string text, out long version) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out version) && version > 0;

    private static void CheckModelName(string model)
    {
        // Names come from URLs of the repository API: never let one point outside the repository.
        if (string.IsNullOrEmpty(model) || model is "." or ".." || model.AsSpan().IndexOfAny('/', '\\') >= 0
            || model.AsSpan().IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
        {
            throw new InferenceException(InferenceErrorKind.NotFound, $"unknown model '{model}': not a model folder name");
        }
    }

    private IEnumerable<string> ListModelFolders()
    {
        var names = new List<string>();
        if (!Directory.Exists(Root))
        {
            return names;
        }
        foreach (var directory in Directory.EnumerateDirectories(Root))
        {
            var name = Path.GetFileName(directory);
            if (!name.StartsWith('.'))
            {
                names.Add(name);
            }
        }
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    private IEnumerable<Measurement<long>> ObserveQueueDepths()
    {
        foreach (var entry in _models.Values)
        {
            foreach (var version in entry.State.Versions)
            {
                if (version.Loaded is { } loaded)
                {
                    yield return new Measurement<long>(
                        loaded.Scheduler.QueueDepth, new("model", entry.Name), new("version", loaded.Key.Version));
                }
            }
        }
    }

    private IEnumerable<Measurement<int>> ObserveInstances()
    {
        foreach (var entry in _models.Values)
        {
            foreach (var version in entry.State.Versions)
            {
                if (version.Loaded is not { } loaded)
                {
                    continue;
                }
                foreach (var placement in loaded.Placement.Instances)
                {
                    yield return new Measurement<int>(placement.Count,
                        new("model", entry.Name), new("version", loaded.Key.Version), new("kind", placement.Kind), new("device", placement.Device));
                }
            }
        }
    }

    private IEnumerable<Measurement<int>> ObserveReadiness()
    {
        foreach (var entry in _models.Values)
        {
            foreach (var version in entry.State.Versions)
            {
                yield return new Measurement<int>(
                    version.Loaded is null ? 0 : 1,
                    new("model", entry.Name), new("version", version.Version.ToString(CultureInfo.InvariantCulture)));
            }
        }
    }
}

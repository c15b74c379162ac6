using Hyperion.Inference.Serving;

namespace Hyperion.Inference.Repository;

/// <summary>
/// One model folder of the repository. Loads and unloads of a model take turns on <see cref="Gate"/>;
/// requests read <see cref="State"/>, which each load or unload replaces whole, so a request sees either
/// the old set of versions or the new one.
/// </summary>
internal sealed class ModelEntry(string name)
{
    private volatile ModelState _state = ModelState.Empty;

    public string Name { get; } = name;

    public SemaphoreSlim Gate { get; } = new(1, 1);

    public ModelState State
    {
        get => _state;
        set => _state = value;
    }
}

/// <param name="Versions">Highest version first.</param>
/// <param name="Reason">Why the model as a whole failed to load (e.g. an invalid config.json); null when it did not.</param>
internal sealed record ModelState(VersionState[] Versions, string? Reason)
{
    public static ModelState Empty { get; } = new([], null);

    public VersionState? Find(long version)
    {
        foreach (var state in Versions)
        {
            if (state.Version == version)
            {
                return state;
            }
        }
        return null;
    }
}

/// <param name="Loaded">The serving runtime; null unless <paramref name="State"/> is Ready.</param>
internal sealed record VersionState(long Version, ModelVersionState State, string? Reason, LoadedModelVersion? Loaded);

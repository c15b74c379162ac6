using Hyperion.Contracts.Models;

namespace Hyperion.Inference.Serving;

/// <summary>
/// The models this server knows: what the protocol front ends ask about metadata, readiness and
/// repository control. Implemented by the model repository.
/// </summary>
public interface IModelCatalog
{
    /// <summary>True once the repository has been scanned and every model's first load was attempted.</summary>
    bool IsServerReady { get; }

    /// <summary>Every model version found in the repository, loaded or not (Triton's repository index).</summary>
    IReadOnlyList<ModelIndexEntry> Index();

    /// <summary>The model's configuration and its versions; throws <c>InferenceException</c> (NotFound) for an unknown model or version.</summary>
    ModelDescriptor Describe(string model, string? version);

    bool IsReady(string model, string? version);

    /// <summary>Loads or reloads every version the model's policy selects, without dropping requests to other models.</summary>
    Task LoadAsync(string model, CancellationToken cancellationToken);

    Task UnloadAsync(string model, CancellationToken cancellationToken);
}

public enum ModelVersionState
{
    Unavailable,
    Loading,
    Ready,
    Unloading,
    Failed,
}

public sealed record ModelIndexEntry(string Name, string Version, ModelVersionState State, string? Reason);

/// <summary>A model's effective (auto-completed) configuration and the versions currently ready.</summary>
public sealed record ModelDescriptor(string Name, IReadOnlyList<string> ReadyVersions, ModelConfig Config);

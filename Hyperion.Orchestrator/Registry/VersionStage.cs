namespace Hyperion.Orchestrator.Registry;

/// <summary>
/// Where a version is in its life (<c>model_versions.stage</c>, and <c>stage</c> in the API, in snake_case). Stages
/// such as staging and production are meant to join these values, not to become another column.
/// </summary>
internal enum VersionStage
{
    /// <summary>Registered and usable; the stage of every version nobody has moved.</summary>
    None,

    /// <summary>Retired: kept, readable and downloadable, but no deployment may name it.</summary>
    Archived,
}

namespace Hyperion.Orchestrator.Registry;

/// <summary>
/// Where a version is in its life (<c>model_versions.stage</c>, and <c>stage</c> in the API, in snake_case), in the
/// order a version usually goes through them. Any move is allowed (as in MLflow's registry); a model's approval
/// policy (<see cref="ModelPolicy"/>) guards the move to production.
/// </summary>
internal enum VersionStage
{
    /// <summary>Registered and usable; the stage of every version nobody has moved.</summary>
    None,

    /// <summary>Being tried: deployable as a canary or shadow, not yet as the stable of a model that requires approval.</summary>
    Staging,

    /// <summary>Approved for production: under a model's approval policy, the only stage a deployment's stable may be in.</summary>
    Production,

    /// <summary>Retired: kept, readable and downloadable, but no deployment may name it.</summary>
    Archived,
}

using System.Collections.Frozen;

namespace Hyperion.Orchestrator.Audit;

/// <summary>
/// What an audit entry records. Stored in <c>audit_log.action</c> (and a rollout's <c>rollouts.last_action</c>) as
/// its dotted name (<see cref="AuditActionNames.Name"/>), which is also what <c>GET /api/v1/audit</c> and the
/// deployment's <c>rollout.last_decision.action</c> show and what the audit filter <c>?action=</c> matches.
/// </summary>
internal enum AuditAction
{
    ModelCreated,
    ModelUpdated,
    ModelPolicyChanged,
    VersionRegistered,
    VersionStageChanged,
    VersionDeleted,
    VersionCardUpdated,
    KeyCreated,
    KeyRevoked,
    DeploymentCreated,
    DeploymentUpdated,
    DeploymentDeleted,
    DeploymentServingChanged,
    DeploymentPromoted,
    DeploymentRolledBack,
    RolloutStarted,
    RolloutStep,
    RolloutPromoted,
    RolloutRolledBack,
    RolloutPaused,
    RolloutResumed,
    WebhookDeliveryRetried,
    ModelDriftDetected,
    ModelQualityDegraded,
    ModelQualityRecovered,
    PipelineCreated,
    PipelineUpdated,
    PipelineDeleted,
    JobSubmitted,
    JobCancelled,
    TeamCreated,
    ModelTeamChanged,
    KeyQuotaChanged,
    TeamQuotaChanged,
}

/// <summary>The stored names of <see cref="AuditAction"/>: the names existing rows hold, never to be changed.</summary>
internal static class AuditActionNames
{
    private static readonly FrozenDictionary<string, AuditAction> s_byName =
        Enum.GetValues<AuditAction>().ToFrozenDictionary(Name, StringComparer.Ordinal);

    public static string Name(this AuditAction action) => action switch
    {
        AuditAction.ModelCreated => "model.created",
        AuditAction.ModelUpdated => "model.updated",
        AuditAction.ModelPolicyChanged => "model.policy_changed",
        AuditAction.VersionRegistered => "version.registered",
        AuditAction.VersionStageChanged => "version.stage_changed",
        AuditAction.VersionDeleted => "version.deleted",
        AuditAction.VersionCardUpdated => "version.card_updated",
        AuditAction.KeyCreated => "key.created",
        AuditAction.KeyRevoked => "key.revoked",
        AuditAction.DeploymentCreated => "deployment.created",
        AuditAction.DeploymentUpdated => "deployment.updated",
        AuditAction.DeploymentDeleted => "deployment.deleted",
        AuditAction.DeploymentServingChanged => "deployment.serving_changed",
        AuditAction.DeploymentPromoted => "deployment.promoted",
        AuditAction.DeploymentRolledBack => "deployment.rolled_back",
        AuditAction.RolloutStarted => "rollout.started",
        AuditAction.RolloutStep => "rollout.step",
        AuditAction.RolloutPromoted => "rollout.promoted",
        AuditAction.RolloutRolledBack => "rollout.rolled_back",
        AuditAction.RolloutPaused => "rollout.paused",
        AuditAction.RolloutResumed => "rollout.resumed",
        AuditAction.WebhookDeliveryRetried => "webhook.delivery_retried",
        AuditAction.ModelDriftDetected => "model.drift_detected",
        AuditAction.ModelQualityDegraded => "model.quality_degraded",
        AuditAction.ModelQualityRecovered => "model.quality_recovered",
        AuditAction.PipelineCreated => "pipeline.created",
        AuditAction.PipelineUpdated => "pipeline.updated",
        AuditAction.PipelineDeleted => "pipeline.deleted",
        AuditAction.JobSubmitted => "job.submitted",
        AuditAction.JobCancelled => "job.cancelled",
        AuditAction.TeamCreated => "team.created",
        AuditAction.ModelTeamChanged => "model.team_changed",
        AuditAction.KeyQuotaChanged => "key.quota_changed",
        AuditAction.TeamQuotaChanged => "team.quota_changed",
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, "unknown audit action"),
    };

    /// <exception cref="InvalidDataException"><paramref name="name"/> is no action's name (a row this version cannot read).</exception>
    public static AuditAction Parse(string name) =>
        s_byName.TryGetValue(name, out var action)
            ? action
            : throw new InvalidDataException($"'{name}' is not an audit action; expected one of {string.Join(", ", s_byName.Keys.Order(StringComparer.Ordinal))}");
}

using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Rollouts;

namespace Hyperion.Tests.Persistence;

/// <summary>
/// Kinds are enums in C# and text in the database and on the wire: the text must stay what existing rows, audit
/// filters and webhook receivers already hold.
/// </summary>
public sealed class StoredKindsTests
{
    public static TheoryData<string, string> StoredActions => new()
    {
        { nameof(AuditAction.ModelCreated), "model.created" },
        { nameof(AuditAction.ModelUpdated), "model.updated" },
        { nameof(AuditAction.ModelPolicyChanged), "model.policy_changed" },
        { nameof(AuditAction.VersionRegistered), "version.registered" },
        { nameof(AuditAction.VersionStageChanged), "version.stage_changed" },
        { nameof(AuditAction.VersionDeleted), "version.deleted" },
        { nameof(AuditAction.VersionCardUpdated), "version.card_updated" },
        { nameof(AuditAction.KeyCreated), "key.created" },
        { nameof(AuditAction.KeyRevoked), "key.revoked" },
        { nameof(AuditAction.DeploymentCreated), "deployment.created" },
        { nameof(AuditAction.DeploymentUpdated), "deployment.updated" },
        { nameof(AuditAction.DeploymentDeleted), "deployment.deleted" },
        { nameof(AuditAction.DeploymentServingChanged), "deployment.serving_changed" },
        { nameof(AuditAction.DeploymentPromoted), "deployment.promoted" },
        { nameof(AuditAction.DeploymentRolledBack), "deployment.rolled_back" },
        { nameof(AuditAction.RolloutStarted), "rollout.started" },
        { nameof(AuditAction.RolloutStep), "rollout.step" },
        { nameof(AuditAction.RolloutPromoted), "rollout.promoted" },
        { nameof(AuditAction.RolloutRolledBack), "rollout.rolled_back" },
        { nameof(AuditAction.RolloutPaused), "rollout.paused" },
        { nameof(AuditAction.RolloutResumed), "rollout.resumed" },
        { nameof(AuditAction.WebhookDeliveryRetried), "webhook.delivery_retried" },
        { nameof(AuditAction.ModelDriftDetected), "model.drift_detected" },
        { nameof(AuditAction.ModelQualityDegraded), "model.quality_degraded" },
        { nameof(AuditAction.ModelQualityRecovered), "model.quality_recovered" },
        { nameof(AuditAction.PipelineCreated), "pipeline.created" },
        { nameof(AuditAction.PipelineUpdated), "pipeline.updated" },
        { nameof(AuditAction.PipelineDeleted), "pipeline.deleted" },
        { nameof(AuditAction.JobSubmitted), "job.submitted" },
        { nameof(AuditAction.JobCancelled), "job.cancelled" },
        { nameof(AuditAction.TeamCreated), "team.created" },
        { nameof(AuditAction.ModelTeamChanged), "model.team_changed" },
        { nameof(AuditAction.KeyQuotaChanged), "key.quota_changed" },
        { nameof(AuditAction.TeamQuotaChanged), "team.quota_changed" },
    };

    [Theory]
    [MemberData(nameof(StoredActions))]
    public void An_audit_action_is_stored_under_its_dotted_name_and_read_back(string member, string stored)
    {
        var action = Enum.Parse<AuditAction>(member);
        Assert.Equal(stored, action.Name());
        Assert.Equal(action, AuditActionNames.Parse(stored));
    }

    [Fact]
    public void Every_audit_action_has_a_stored_name_of_its_own()
    {
        var pinned = StoredActions.Select(row => Enum.Parse<AuditAction>((string)row[0])).ToHashSet();
        Assert.Equal(Enum.GetValues<AuditAction>().ToHashSet(), pinned);
        Assert.Equal(pinned.Count, pinned.Select(action => action.Name()).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void A_stored_action_this_version_does_not_know_is_refused_with_the_known_ones()
    {
        var error = Assert.Throws<InvalidDataException>(() => AuditActionNames.Parse("rollout.exploded"));
        Assert.Contains("'rollout.exploded'", error.Message, StringComparison.Ordinal);
        Assert.Contains("rollout.step", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(DeploymentChangeKind.Created), "created")]
    [InlineData(nameof(DeploymentChangeKind.Updated), "updated")]
    [InlineData(nameof(DeploymentChangeKind.Deleted), "deleted")]
    public void A_deployment_change_is_sent_to_webhooks_as_before(string member, string wire)
    {
        var kind = Enum.Parse<DeploymentChangeKind>(member);
        var data = JsonSerializer.SerializeToElement(new DeploymentChange(kind, 2, 1, null, null), ControlPlaneJson.Options);
        Assert.Equal(wire, data.GetProperty("change").GetString());
    }

    [Theory]
    [InlineData(nameof(WebhookDeliveryState.Pending), WebhookDeliveryStates.Pending)]
    [InlineData(nameof(WebhookDeliveryState.Failed), WebhookDeliveryStates.Failed)]
    [InlineData(nameof(WebhookDeliveryState.Delivered), WebhookDeliveryStates.Delivered)]
    public void A_delivery_state_reads_from_the_query_and_writes_to_json_under_one_name(string member, string name)
    {
        var state = Enum.Parse<WebhookDeliveryState>(member);
        Assert.Equal(state, StoredNames<WebhookDeliveryState>.Parse(name, "state"));
        Assert.Equal($"\"{name}\"", JsonSerializer.Serialize(state, ControlPlaneJson.Options));
        Assert.Contains(name, WebhookDeliveryStates.All);
    }

    [Theory]
    [InlineData(nameof(RolloutState.Progressing), "progressing")]
    [InlineData(nameof(RolloutState.Paused), "paused")]
    [InlineData(nameof(RolloutState.Promoted), "promoted")]
    [InlineData(nameof(RolloutState.RolledBack), "rolled_back")]
    public void A_rollout_state_is_stored_and_sent_under_the_name_existing_rows_hold(string member, string stored)
    {
        var state = Enum.Parse<RolloutState>(member);
        Assert.Equal(stored, StoredNames<RolloutState>.Name(state));
        Assert.Equal(state, StoredNames<RolloutState>.Parse(stored, "rollouts.state"));
        Assert.Equal($"\"{stored}\"", JsonSerializer.Serialize(state, ControlPlaneJson.Options));
    }

    [Fact]
    public void A_replica_models_state_is_stored_under_the_names_replicas_report()
    {
        Assert.Equal(new[] { "loading", "ready", "failed", "unloading" }, StoredNames<ReplicaModelPhase>.All);
        foreach (var phase in Enum.GetValues<ReplicaModelPhase>())
        {
            Assert.Equal($"\"{StoredNames<ReplicaModelPhase>.Name(phase)}\"", JsonSerializer.Serialize(phase, ControlPlaneJson.Options));
        }
    }

    [Fact]
    public void A_stored_name_this_version_does_not_know_is_refused_naming_the_column_and_the_known_names()
    {
        var error = Assert.Throws<InvalidDataException>(() => StoredNames<RolloutState>.Parse("exploded", "rollouts.state"));
        Assert.Equal("rollouts.state 'exploded' is not one of progressing, paused, promoted, rolled_back", error.Message);
    }
}

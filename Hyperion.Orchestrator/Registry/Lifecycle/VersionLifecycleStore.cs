using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Registry.Lifecycle;

/// <summary>
/// Moves a version to another stage (archive, restore) and deletes a version nothing uses. Each runs in one
/// transaction: the version's row locked, every <see cref="IVersionUsers"/> asked, the change and its audit entry
/// written. A deleted version's artifact stays in the store until <see cref="Artifacts.ArtifactOrphanSweeper"/>
/// finds no version refers to it.
/// </summary>
internal sealed class VersionLifecycleStore(NpgsqlDataSource dataSource, IEnumerable<IVersionUsers> users)
{
    // The roles of a deployment's uses (DeploymentVersionUsers) that may become its stable: under the policy, such a
    // version stays in production while the deployment names it.
    private const string StableRole = "stable";
    private const string CanaryRole = "canary";

    public async Task<LifecycleResult> SetStageAsync(string model, long version, VersionStage stage, string? reason, StageCaller caller, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        if (await LockVersionAsync(db, model, version, cancellationToken) is not { } before)
        {
            return await MissingAsync(db, model, cancellationToken);
        }
        // The deployment's lock before the policy is read: a deployment PUT, a promotion or a policy change of this
        // model (each under the same lock) sees this move whole or not at all.
        await DeploymentStore.LockAsync(db, model, cancellationToken);
        var policy = new ModelPolicy(await ApprovalPolicy.RequiredAsync(db, model, cancellationToken));
        if (before.Stage == stage)
        {
            return new LifecycleResult(LifecycleStatus.Unchanged, before, []);
        }
        if (StageRules.Check(model, before, stage, policy, caller, reason) is { } refusal)
        {
            return new LifecycleResult(refusal.Kind == StageRefusalKind.Forbidden ? LifecycleStatus.Forbidden : LifecycleStatus.ReasonRequired, before, [], refusal.Message);
        }
        if (stage == VersionStage.Archived && (await UsesAsync(db, model, version, cancellationToken)).Where(use => use.Named).ToList() is { Count: > 0 } named)
        {
            return new LifecycleResult(LifecycleStatus.InUse, before, named);
        }
        if (policy.RequireApproval && before.Stage == VersionStage.Production
            && (await UsesAsync(db, model, version, cancellationToken)).Where(use => use.Role is StableRole or CanaryRole).ToList() is { Count: > 0 } holding)
        {
            return new LifecycleResult(LifecycleStatus.NeededInProduction, before, holding);
        }
        VersionResource after;
        await using (var update = db.Command($"UPDATE model_versions SET stage = @stage WHERE model = @model AND version = @version RETURNING {RegistryStore.VersionColumns}"))
        {
            update.Bind("model", model);
            update.Bind("version", version);
            update.Bind("stage", StoredNames<VersionStage>.Name(stage));
            await using var reader = await update.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            after = RegistryStore.ReadVersion(reader);
        }
        var approved = policy.RequireApproval && stage == VersionStage.Production;
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: caller.Actor,
            Action: AuditAction.VersionStageChanged,
            Model: model,
            Target: $"version {version}",
            Before: new { stage = before.Stage },
            After: new { stage },
            Details: new { reason, approval = approved ? new { required_by_policy = true, approved_by = caller.Actor, uploaded_by = before.CreatedBy } : null }), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return new LifecycleResult(LifecycleStatus.Done, after, []);
    }

    /// <summary>The version's moves between stages, oldest first, from its <c>version.stage_changed</c> audit entries.</summary>
    public async Task<IReadOnlyList<StageChange>> StageHistoryAsync(string model, long version, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT before ->> 'stage', after ->> 'stage', actor, details ->> 'reason', occurred_at, details -> 'approval' ->> 'approved_by'
            FROM audit_log
            WHERE model = @model AND action = @action AND target = @target
            ORDER BY id
            """);
        command.Bind("model", model);
        command.Bind("action", AuditAction.VersionStageChanged.Name());
        // A version number is never given again (models.last_version), so its target names this version alone.
        command.Bind("target", $"version {version}");
        return await command.ReadAllAsync(reader => new StageChange(
            From: RegistryStore.ParseStage(reader.GetString(0)),
            To: RegistryStore.ParseStage(reader.GetString(1)),
            Actor: reader.GetString(2),
            Reason: reader.IsDBNull(3) ? null : reader.GetString(3),
            At: reader.GetFieldValue<DateTimeOffset>(4),
            ApprovedBy: reader.IsDBNull(5) ? null : reader.GetString(5)), cancellationToken);
    }

    public async Task<LifecycleResult> DeleteAsync(string model, long version, string? reason, string actor, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        if (await LockVersionAsync(db, model, version, cancellationToken) is not { } before)
        {
            return await MissingAsync(db, model, cancellationToken);
        }
        if (await UsesAsync(db, model, version, cancellationToken) is { Count: > 0 } uses)
        {
            return new LifecycleResult(LifecycleStatus.InUse, before, uses);
        }
        await using (var delete = db.Command("DELETE FROM model_versions WHERE model = @model AND version = @version"))
        {
            delete.Bind("model", model);
            delete.Bind("version", version);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        List<long> sharing;
        await using (var others = db.Command("SELECT version FROM model_versions WHERE model = @model AND digest = @digest ORDER BY version"))
        {
            others.Bind("model", model);
            others.Bind("digest", before.Digest);
            sharing = await others.ReadAllAsync(reader => reader.GetInt64(0), cancellationToken);
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: actor,
            Action: AuditAction.VersionDeleted,
            Model: model,
            Target: $"version {version}",
            Before: new { before.Version, before.Digest, before.SizeBytes, before.Format, before.Stage, before.Lineage, before.CreatedBy, before.CreatedAt },
            Details: new { reason, same_artifact_in_versions = sharing }), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return new LifecycleResult(LifecycleStatus.Done, before, []);
    }

    /// <summary>The version, its row locked until the transaction ends (a concurrent archive, delete or card write waits).</summary>
    private static async Task<VersionResource?> LockVersionAsync(Db db, string model, long version, CancellationToken cancellationToken)
    {
        await using var command = db.Command($"SELECT {RegistryStore.VersionColumns} FROM model_versions WHERE model = @model AND version = @version FOR UPDATE");
        command.Bind("model", model);
        command.Bind("version", version);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? RegistryStore.ReadVersion(reader) : null;
    }

    private async Task<List<VersionUse>> UsesAsync(Db db, string model, long version, CancellationToken cancellationToken)
    {
        var uses = new List<VersionUse>();
        foreach (var user in users)
        {
            uses.AddRange(await user.FindAsync(db, model, version, cancellationToken));
        }
        return uses;
    }

    private static async Task<LifecycleResult> MissingAsync(Db db, string model, CancellationToken cancellationToken)
    {
        await using var command = db.Command("SELECT EXISTS (SELECT 1 FROM models WHERE name = @model)");
        command.Bind("model", model);
        var exists = (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
        return new LifecycleResult(exists ? LifecycleStatus.NoVersion : LifecycleStatus.NoModel, null, []);
    }
}

internal enum LifecycleStatus
{
    Done,
    Unchanged,
    NoModel,
    NoVersion,
    InUse,

    /// <summary>The caller may not make this move (<see cref="LifecycleResult.Refusal"/> says why).</summary>
    Forbidden,

    /// <summary>An approval without a reason (<see cref="LifecycleResult.Refusal"/> says what is expected).</summary>
    ReasonRequired,

    /// <summary>Under the model's approval policy, the version is the deployment's stable or canary and must stay in production.</summary>
    NeededInProduction,
}

/// <param name="Version">The version after the change (before it, for a delete or a refusal).</param>
/// <param name="Uses">What keeps the version from the change (<see cref="LifecycleStatus.InUse"/>, <see cref="LifecycleStatus.NeededInProduction"/>).</param>
/// <param name="Refusal">Why the caller may not make the change (<see cref="LifecycleStatus.Forbidden"/>, <see cref="LifecycleStatus.ReasonRequired"/>).</param>
internal sealed record LifecycleResult(LifecycleStatus Status, VersionResource? Version, IReadOnlyList<VersionUse> Uses, string? Refusal = null);

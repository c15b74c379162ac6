using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// <c>rollouts</c>. Changes happen inside the caller's transaction, on a row it locked with <see cref="LockAsync"/>:
/// the controller skips a row another orchestrator holds (<c>SKIP LOCKED</c>), API calls wait for it. Lock order,
/// everywhere: the rollout row, then the deployment's advisory lock.
/// </summary>
internal static class RolloutStore
{
    private const string Columns = """
        model, revision, started_revision, stable_version, canary_version, plan, state, step, percent, started_at,
        step_started_at, baseline, rollout_baseline, last_action, last_decision_at, reason, evidence
        """;

    /// <summary>Locks the model's row; <see cref="RowLock.Busy"/> when another transaction holds it and <paramref name="skipLocked"/>.</summary>
    public static async Task<(RowLock Lock, RolloutRecord? Rollout, DateTimeOffset Now)> LockAsync(
        Db db, string model, bool skipLocked, CancellationToken cancellationToken)
    {
        await using (var command = db.Command($"SELECT {Columns}, now() FROM rollouts WHERE model = @model FOR UPDATE{(skipLocked ? " SKIP LOCKED" : "")}"))
        {
            command.Bind("model", model);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                return (RowLock.Locked, Read(reader), reader.GetFieldValue<DateTimeOffset>(17));
            }
        }
        await using var exists = db.Command("SELECT EXISTS (SELECT 1 FROM rollouts WHERE model = @model), now()");
        exists.Bind("model", model);
        await using (var reader = await exists.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            return (reader.GetBoolean(0) ? RowLock.Busy : RowLock.Missing, null, reader.GetFieldValue<DateTimeOffset>(1));
        }
    }

    /// <summary>The model's rollout without locking (status reads); null when it never had one.</summary>
    public static async Task<RolloutRecord?> ReadAsync(NpgsqlDataSource dataSource, string model, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM rollouts WHERE model = @model");
        command.Bind("model", model);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>Models whose rollout is still progressing or paused (the controller looks at them even when their deployment lost its plan).</summary>
    public static async Task<IReadOnlyList<string>> ActiveModelsAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT model FROM rollouts WHERE state IN ('progressing', 'paused') ORDER BY model");
        return await command.ReadAllAsync(reader => reader.GetString(0), cancellationToken);
    }

    /// <summary>Inserts or replaces the model's row (the caller holds its lock, or there was none).</summary>
    public static async Task SaveAsync(Db db, RolloutRecord rollout, CancellationToken cancellationToken)
    {
        await using var command = db.Command($"""
            INSERT INTO rollouts ({Columns}, updated_at)
            VALUES (@model, @revision, @started_revision, @stable_version, @canary_version, @plan, @state, @step, @percent, @started_at,
                    @step_started_at, @baseline, @rollout_baseline, @last_action, @last_decision_at, @reason, @evidence, now())
            ON CONFLICT (model) DO UPDATE SET
                revision = excluded.revision, started_revision = excluded.started_revision,
                stable_version = excluded.stable_version, canary_version = excluded.canary_version, plan = excluded.plan,
                state = excluded.state, step = excluded.step, percent = excluded.percent, started_at = excluded.started_at,
                step_started_at = excluded.step_started_at, baseline = excluded.baseline, rollout_baseline = excluded.rollout_baseline,
                last_action = excluded.last_action, last_decision_at = excluded.last_decision_at, reason = excluded.reason,
                evidence = excluded.evidence, updated_at = now()
            """);
        command.Bind("model", rollout.Model);
        command.Bind("revision", rollout.Revision);
        command.Bind("started_revision", rollout.StartedRevision);
        command.Bind("stable_version", rollout.StableVersion);
        command.Bind("canary_version", rollout.CanaryVersion);
        command.BindJson("plan", rollout.Plan);
        command.Bind("state", StoredNames<RolloutState>.Name(rollout.State));
        command.Bind("step", rollout.Step);
        command.Bind("percent", rollout.Percent);
        command.Bind("started_at", rollout.StartedAt);
        command.Bind("step_started_at", rollout.StepStartedAt);
        command.BindJson("baseline", rollout.Baseline);
        command.BindJson("rollout_baseline", rollout.StableAtStart);
        command.Bind("last_action", rollout.LastAction?.Name());
        command.Bind("last_decision_at", rollout.LastDecisionAt);
        command.Bind("reason", rollout.Reason);
        command.BindJson("evidence", rollout.Evidence);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static RolloutRecord Read(NpgsqlDataReader reader) => new(
        Model: reader.GetString(0),
        Revision: reader.GetInt64(1),
        StartedRevision: reader.GetInt64(2),
        StableVersion: reader.GetInt64(3),
        CanaryVersion: reader.GetInt64(4),
        Plan: Parse<CanaryPlan>(reader.GetString(5)),
        State: StoredNames<RolloutState>.Parse(reader.GetString(6), "rollouts.state"),
        Step: reader.GetInt32(7),
        Percent: reader.GetDouble(8),
        StartedAt: reader.GetFieldValue<DateTimeOffset>(9),
        StepStartedAt: reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
        Baseline: reader.IsDBNull(11) ? null : Parse<StepBaseline>(reader.GetString(11)),
        StableAtStart: reader.IsDBNull(12) ? null : Parse<ArmTotals>(reader.GetString(12)),
        LastAction: reader.IsDBNull(13) ? null : AuditActionNames.Parse(reader.GetString(13)),
        LastDecisionAt: reader.IsDBNull(14) ? null : reader.GetFieldValue<DateTimeOffset>(14),
        Reason: reader.IsDBNull(15) ? null : reader.GetString(15),
        Evidence: reader.IsDBNull(16) ? null : JsonNode.Parse(reader.GetString(16)));

    private static T Parse<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, ControlPlaneJson.Options) ?? throw new InvalidDataException($"rollouts holds a null {typeof(T).Name}");
}

internal enum RowLock
{
    /// <summary>The row is locked by this transaction.</summary>
    Locked,

    /// <summary>Another transaction holds the row (another orchestrator is acting on the rollout).</summary>
    Busy,

    /// <summary>The model has no rollout row.</summary>
    Missing,
}

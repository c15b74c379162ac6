using Hyperion.Orchestrator.Persistence;

namespace Hyperion.Orchestrator.Audit;

/// <summary>
/// Appends to <c>audit_log</c> inside the transaction that makes the change, so a change and its audit
/// entry are committed together or not at all. The table refuses updates and deletes.
/// </summary>
internal static class AuditLog
{
    public static async Task AppendAsync(Db db, AuditEntry entry, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            INSERT INTO audit_log (actor, action, model, target, before, after, details)
            VALUES (@actor, @action, @model, @target, @before, @after, coalesce(@details, '{}'))
            """);
        command.Bind("actor", entry.Actor);
        command.Bind("action", entry.Action.Name());
        command.Bind("model", entry.Model);
        command.Bind("target", entry.Target);
        command.BindJson("before", entry.Before);
        command.BindJson("after", entry.After);
        command.BindJson("details", entry.Details);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

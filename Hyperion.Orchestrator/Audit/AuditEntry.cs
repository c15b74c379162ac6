namespace Hyperion.Orchestrator.Audit;

/// <summary>One change, as the audit log keeps it. <paramref name="Before"/>/<paramref name="After"/> are serialised as snake_case JSON.</summary>
/// <param name="Target">What changed within the model, e.g. <c>version 2</c>, <c>revision 5</c>, <c>key 0190…</c>.</param>
/// <param name="Details">Anything else worth keeping (a decision's evidence, a reason).</param>
internal sealed record AuditEntry(
    string Actor,
    AuditAction Action,
    string? Model,
    string? Target,
    object? Before = null,
    object? After = null,
    object? Details = null);

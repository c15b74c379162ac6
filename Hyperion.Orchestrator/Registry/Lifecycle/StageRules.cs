using Hyperion.Orchestrator.Persistence;

namespace Hyperion.Orchestrator.Registry.Lifecycle;

/// <summary>
/// Who may move a version to which stage: a pure decision, called by <see cref="VersionLifecycleStore"/> with the
/// version's row locked and the model's policy read in the same transaction.
/// </summary>
/// <remarks>
/// The approval is the move itself, made by the approver (as an MLflow transition or a SageMaker approval status):
/// one call, one audit entry whose actor is the approver. Without the policy, a <c>deploy</c> key moves a version
/// anywhere, as before; an <c>approve</c> key only ever moves versions to production, with or without the policy.
/// </remarks>
internal static class StageRules
{
    public static StageRefusal? Check(string model, VersionResource version, VersionStage to, ModelPolicy policy, StageCaller caller, string? reason)
    {
        var target = StoredNames<VersionStage>.Name(to);
        if (to != VersionStage.Production)
        {
            return caller.CanDeploy
                ? null
                : new StageRefusal(StageRefusalKind.Forbidden,
                    $"an 'approve' key only moves versions to production; moving version {version.Version} of '{model}' to '{target}' needs the scope 'deploy' or 'admin' (the key has {caller.Granted})");
        }
        if (!policy.RequireApproval)
        {
            return null;
        }
        if (!caller.CanApprove)
        {
            return new StageRefusal(StageRefusalKind.Forbidden,
                $"model '{model}' requires approval to move a version to production (its policy: require_approval): the move must be made by a key with the scope 'approve' or 'admin' "
                + $"other than the one that uploaded version {version.Version} ({version.CreatedBy}); the key has {caller.Granted}. Ask an approver to make this call.");
        }
        if (string.Equals(caller.Actor, version.CreatedBy, StringComparison.Ordinal))
        {
            return new StageRefusal(StageRefusalKind.Forbidden,
                $"version {version.Version} of '{model}' was uploaded by {version.CreatedBy}, the key making this call, and model '{model}' requires approval by another key "
                + "(its policy: require_approval): a key with the scope 'approve' or 'admin' that did not upload the version must move it to production.");
        }
        if (string.IsNullOrWhiteSpace(reason))
        {
            return new StageRefusal(StageRefusalKind.ReasonRequired,
                $"is required to approve a move to production (model '{model}' requires approval): say why, e.g. {{\"stage\": \"production\", \"reason\": \"accuracy 0.97 on the holdout set, reviewed the card\"}}");
        }
        return null;
    }
}

/// <summary>Who asks for the move: the actor the audit log names and what its scopes allow.</summary>
/// <param name="Granted">The scopes as a 403 shows them, e.g. <c>[deploy]</c>.</param>
internal sealed record StageCaller(string Actor, bool CanDeploy, bool CanApprove, string Granted);

internal enum StageRefusalKind
{
    /// <summary>403: the caller may not make this move (scope, or the uploader approving its own version).</summary>
    Forbidden,

    /// <summary>400 on <c>reason</c>: an approval says why.</summary>
    ReasonRequired,
}

internal sealed record StageRefusal(StageRefusalKind Kind, string Message);

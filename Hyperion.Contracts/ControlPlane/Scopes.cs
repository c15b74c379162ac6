namespace Hyperion.Contracts.ControlPlane;

/// <summary>
/// What a key or token may do. <c>admin</c> may do everything; <c>deploy</c> manages models, versions and
/// deployments (and reads them and the audit log); <c>approve</c> moves versions to production, as the second person a
/// model's approval policy asks for, and sets that policy; <c>infer</c> calls any model. Narrower forms name what they
/// apply to: <c>infer:&lt;model&gt;</c> calls one model, <c>deploy:&lt;model&gt;</c> manages one model (and nothing that
/// is not about one model), <c>approve:&lt;team&gt;</c> approves the models of one team.
/// <para>
/// A key may also belong to a team (<see cref="KeyIdentity.Team"/>): then every right it holds on a model holds only
/// for the models of that team, so one team's key cannot change or call another team's model. A key without a team,
/// and a model without one, are checked exactly as before teams existed.
/// </para>
/// </summary>
public static class Scopes
{
    public const string Admin = "admin";
    public const string Deploy = "deploy";
    public const string Approve = "approve";
    public const string Infer = "infer";
    public const string InferModelPrefix = "infer:";
    public const string DeployModelPrefix = "deploy:";
    public const string ApproveTeamPrefix = "approve:";

    /// <summary>The claim type that carries one scope per claim (JWTs may also carry them space-separated in one "scope" claim).</summary>
    public const string ClaimType = "scope";

    /// <summary>The claim type that carries a key's team, when it has one.</summary>
    public const string TeamClaimType = "hyperion_team";

    /// <summary>Every form a scope may take, for messages.</summary>
    public const string Expected = "'admin', 'deploy', 'approve', 'infer', 'infer:<model>', 'deploy:<model>' or 'approve:<team>'";

    public static string InferModel(string model) => InferModelPrefix + model;

    /// <summary>Whether a scope string is one Hyperion knows.</summary>
    public static bool IsValid(string scope) =>
        scope is Admin or Deploy or Approve or Infer
        // Kept as lenient as it always was: existing keys may hold any non-empty model name here.
        || (scope.StartsWith(InferModelPrefix, StringComparison.Ordinal) && scope.Length > InferModelPrefix.Length)
        || (scope.StartsWith(DeployModelPrefix, StringComparison.Ordinal) && ResourceName.IsValid(scope.AsSpan(DeployModelPrefix.Length)))
        || (scope.StartsWith(ApproveTeamPrefix, StringComparison.Ordinal) && ResourceName.IsValid(scope.AsSpan(ApproveTeamPrefix.Length)));

    /// <summary>The team an <c>approve:&lt;team&gt;</c> scope names; null for any other scope.</summary>
    public static string? ApprovedTeam(string scope) =>
        scope.StartsWith(ApproveTeamPrefix, StringComparison.Ordinal) ? scope[ApproveTeamPrefix.Length..] : null;

    public static bool AllowsAdmin(IEnumerable<string> granted) => Contains(granted, Admin);

    /// <summary>Calls that are not about one model (listing, creating a model, pipelines, the audit log): <c>deploy</c> or <c>admin</c>.</summary>
    public static bool AllowsDeploy(IEnumerable<string> granted) => Contains(granted, Admin) || Contains(granted, Deploy);

    /// <summary>Approving without naming a model: <c>approve</c> or <c>admin</c>.</summary>
    public static bool AllowsApprove(IEnumerable<string> granted) => Contains(granted, Admin) || Contains(granted, Approve);

    /// <summary>Managing <paramref name="model"/> (of <paramref name="modelTeam"/>, null when it has none) by a caller of <paramref name="callerTeam"/>.</summary>
    public static bool AllowsDeploy(IEnumerable<string> granted, string? callerTeam, string model, string? modelTeam)
    {
        foreach (var scope in granted)
        {
            if (scope == Admin)
            {
                return true;
            }
            if ((scope == Deploy || Names(scope, DeployModelPrefix, model)) && SameTeam(callerTeam, modelTeam))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Approving a version of a model of <paramref name="modelTeam"/>: <c>admin</c>, <c>approve</c>, or <c>approve:&lt;its team&gt;</c>.</summary>
    public static bool AllowsApprove(IEnumerable<string> granted, string? callerTeam, string? modelTeam)
    {
        foreach (var scope in granted)
        {
            if (scope == Admin)
            {
                return true;
            }
            if ((scope == Approve || (modelTeam is not null && Names(scope, ApproveTeamPrefix, modelTeam))) && SameTeam(callerTeam, modelTeam))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Inference on <paramref name="model"/> without teams: <c>admin</c>, <c>infer</c> or <c>infer:&lt;model&gt;</c>.</summary>
    public static bool AllowsInfer(IEnumerable<string> granted, string model) => AllowsInfer(granted, callerTeam: null, model, modelTeam: null);

    /// <summary>Inference on <paramref name="model"/> (of <paramref name="modelTeam"/>) by a caller of <paramref name="callerTeam"/>.</summary>
    public static bool AllowsInfer(IEnumerable<string> granted, string? callerTeam, string model, string? modelTeam)
    {
        foreach (var scope in granted)
        {
            if (scope == Admin)
            {
                return true;
            }
            if ((scope == Infer || Names(scope, InferModelPrefix, model)) && SameTeam(callerTeam, modelTeam))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Why a caller of <paramref name="callerTeam"/> is refused a model of <paramref name="modelTeam"/> when its team is
    /// the reason; null when the teams do not stand in the way (the scopes may still).
    /// </summary>
    public static string? TeamRefusal(string? callerTeam, string model, string? modelTeam) =>
        SameTeam(callerTeam, modelTeam)
            ? null
            : modelTeam is null
                ? $"the key belongs to team '{callerTeam}' and model '{model}' belongs to no team; a team's key may only act on its own team's models"
                : $"the key belongs to team '{callerTeam}' and model '{model}' belongs to team '{modelTeam}'; a team's key may only act on its own team's models";

    // A key without a team is not held back by teams; a team's key only reaches its team's models.
    private static bool SameTeam(string? callerTeam, string? modelTeam) =>
        callerTeam is null || string.Equals(callerTeam, modelTeam, StringComparison.Ordinal);

    private static bool Names(string scope, string prefix, string name) =>
        scope.Length == prefix.Length + name.Length
        && scope.StartsWith(prefix, StringComparison.Ordinal)
        && scope.AsSpan(prefix.Length).SequenceEqual(name);

    private static bool Contains(IEnumerable<string> granted, string scope)
    {
        foreach (var candidate in granted)
        {
            if (candidate == scope)
            {
                return true;
            }
        }
        return false;
    }
}

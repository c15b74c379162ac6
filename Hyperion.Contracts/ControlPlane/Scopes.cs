namespace Hyperion.Contracts.ControlPlane;

/// <summary>
/// What a key or token may do. <c>admin</c> may do everything; <c>deploy</c> manages models, versions and
/// deployments (and reads them and the audit log); <c>approve</c> moves versions to production, as the second person a
/// model's approval policy asks for, and sets that policy; <c>infer</c> calls any model; <c>infer:&lt;model&gt;</c> calls one.
/// </summary>
public static class Scopes
{
    public const string Admin = "admin";
    public const string Deploy = "deploy";
    public const string Approve = "approve";
    public const string Infer = "infer";
    public const string InferModelPrefix = "infer:";

    /// <summary>The claim type that carries one scope per claim (JWTs may also carry them space-separated in one "scope" claim).</summary>
    public const string ClaimType = "scope";

    public static string InferModel(string model) => InferModelPrefix + model;

    /// <summary>Whether a scope string is one Hyperion knows.</summary>
    public static bool IsValid(string scope) =>
        scope is Admin or Deploy or Approve or Infer
        || (scope.StartsWith(InferModelPrefix, StringComparison.Ordinal) && scope.Length > InferModelPrefix.Length);

    public static bool AllowsAdmin(IEnumerable<string> granted) => Contains(granted, Admin);

    public static bool AllowsDeploy(IEnumerable<string> granted) => Contains(granted, Admin) || Contains(granted, Deploy);

    public static bool AllowsApprove(IEnumerable<string> granted) => Contains(granted, Admin) || Contains(granted, Approve);

    /// <summary>Inference on <paramref name="model"/>: <c>admin</c>, <c>infer</c> or <c>infer:&lt;model&gt;</c>.</summary>
    public static bool AllowsInfer(IEnumerable<string> granted, string model)
    {
        foreach (var scope in granted)
        {
            if (scope is Admin or Infer
                || (scope.Length == InferModelPrefix.Length + model.Length
                    && scope.StartsWith(InferModelPrefix, StringComparison.Ordinal)
                    && scope.AsSpan(InferModelPrefix.Length).SequenceEqual(model)))
            {
                return true;
            }
        }
        return false;
    }

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

using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Gateway.Routing;

/// <summary>The version a request went to and why.</summary>
/// <param name="Arm"><see cref="ArmStatisticsKeys.Stable"/>, <see cref="ArmStatisticsKeys.Canary"/>, or <see cref="Pinned"/> for an explicit version.</param>
internal sealed record RoutedArm(ModelPolicy Policy, VersionTarget Target, string Arm)
{
    public const string Pinned = "pinned";

    /// <summary>The traffic policy's result for this arm, made once per routing table rather than once per request.</summary>
    public ArmChoice Choice => field ??= new ArmChoice(this);
}

/// <summary>
/// Picks stable or canary by the canary's percent: by a hash of <c>X-Hyperion-Session</c> and the model when the
/// client sends one (the same session sees the same version on every gateway replica, as long as the percent
/// stays), otherwise at random.
/// </summary>
internal static class ArmSelector
{
    public const string SessionHeader = "X-Hyperion-Session";

    public static bool ChooseCanary(ModelPolicy policy, string? session)
    {
        if (policy.Canary is null || policy.CanaryBasisPoints <= 0)
        {
            return false;
        }
        if (policy.CanaryBasisPoints >= 10_000)
        {
            return true;
        }
        var bucket = session is { Length: > 0 }
            ? (int)(StableHash(session, policy.Model) % 10_000)
            : Random.Shared.Next(10_000);
        return bucket < policy.CanaryBasisPoints;
    }

    public static bool SampleShadow(ModelPolicy policy) =>
        policy.Shadow is not null && policy.ShadowBasisPoints > 0
        && (policy.ShadowBasisPoints >= 10_000 || Random.Shared.Next(10_000) < policy.ShadowBasisPoints);

    public static bool SampleCapture(ModelPolicy policy) =>
        policy.CaptureBasisPoints > 0
        && (policy.CaptureBasisPoints >= 10_000 || Random.Shared.Next(10_000) < policy.CaptureBasisPoints);

    /// <summary>FNV-1a over both strings: the same on every replica and every run (string.GetHashCode is not).</summary>
    public static ulong StableHash(string session, string model)
    {
        const ulong Offset = 14695981039346656037;
        const ulong Prime = 1099511628211;
        var hash = Offset;
        foreach (var c in session)
        {
            hash = (hash ^ c) * Prime;
        }
        hash = (hash ^ '\n') * Prime;
        foreach (var c in model)
        {
            hash = (hash ^ c) * Prime;
        }
        // FNV's low bits mix poorly for short inputs; fold the high half in.
        return hash ^ (hash >> 32);
    }
}

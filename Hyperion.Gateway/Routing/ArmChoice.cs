namespace Hyperion.Gateway.Routing;

/// <summary>
/// <see cref="TrafficPolicyStage"/>'s result: the arm the request was routed to, or none (the model has no
/// deployment, the request names no model, or it pins a version the deployment does not serve).
/// </summary>
internal sealed class ArmChoice
{
    public static ArmChoice Unrouted { get; } = new(null);

    /// <summary>Use <see cref="RoutedArm.Choice"/>: one per arm of a routing table, not per request.</summary>
    internal ArmChoice(RoutedArm? arm) => Arm = arm;

    public RoutedArm? Arm { get; }
}

namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// The event types webhooks can subscribe to. A webhook's <c>Events</c> setting is checked against this list at
/// start-up (a misspelt subscription would otherwise never fire), and so is every enqueued event: a new kind of
/// event is one more constant here.
/// </summary>
internal static class NotificationEventTypes
{
    /// <summary>Sent by <c>POST /api/v1/webhooks/{name}/test</c> to that one webhook, whatever it subscribes to.</summary>
    public const string Ping = "ping";

    public const string RolloutStarted = "rollout.started";
    public const string RolloutStep = "rollout.step";
    public const string RolloutPromoted = "rollout.promoted";
    public const string RolloutRolledBack = "rollout.rolled_back";
    public const string RolloutPaused = "rollout.paused";
    public const string RolloutResumed = "rollout.resumed";
    public const string DeploymentUpdated = "deployment.updated";
    public const string DeploymentRolledBack = "deployment.rolled_back";

    /// <summary>A version's drift verdict became drifted (issue #16).</summary>
    public const string ModelDriftDetected = "model.drift_detected";

    /// <summary>A classifier's accuracy over labelled traffic fell below what it was registered with (issue #16).</summary>
    public const string ModelQualityDegraded = "model.quality_degraded";

    /// <summary>A batch job scored its last line (issue #15).</summary>
    public const string JobSucceeded = "job.succeeded";

    /// <summary>A batch job stopped: its target went away, or every line failed (issue #15).</summary>
    public const string JobFailed = "job.failed";

    public static IReadOnlyList<string> All { get; } =
    [
        Ping,
        RolloutStarted, RolloutStep, RolloutPromoted, RolloutRolledBack, RolloutPaused, RolloutResumed,
        DeploymentUpdated, DeploymentRolledBack,
        ModelDriftDetected, ModelQualityDegraded,
        JobSucceeded, JobFailed,
    ];

    public static bool IsKnown(string type) => All.Contains(type, StringComparer.Ordinal);

    /// <summary>
    /// Whether a subscription (<c>*</c>, an exact type, or a family such as <c>rollout.*</c>) takes
    /// <paramref name="type"/>. <c>ping</c> is only ever sent to one webhook on request, never by subscription.
    /// </summary>
    public static bool Matches(string subscription, string type)
    {
        if (subscription == "*")
        {
            return true;
        }
        if (subscription.EndsWith(".*", StringComparison.Ordinal))
        {
            return type.StartsWith(subscription.AsSpan(0, subscription.Length - 1), StringComparison.Ordinal);
        }
        return string.Equals(subscription, type, StringComparison.Ordinal);
    }

    /// <summary>Whether a subscription names something that exists: <c>*</c>, a known type or a known family.</summary>
    public static bool IsValidSubscription(string subscription) =>
        subscription == "*" || All.Any(type => type != Ping && Matches(subscription, type));
}

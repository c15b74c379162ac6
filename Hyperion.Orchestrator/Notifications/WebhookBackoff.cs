namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// Exponential back-off with full jitter (AWS's "Exponential Backoff and Jitter"): the wait before the next
/// attempt is uniform in [0, min(max, base × 2^(failed-1))]. The jitter spreads the retries of many deliveries
/// that failed together (a receiver that was down) instead of sending them back in one burst.
/// </summary>
internal static class WebhookBackoff
{
    /// <param name="failedAttempts">Attempts made so far, all failed (1 after the first failure).</param>
    public static TimeSpan Delay(int failedAttempts, double baseSeconds, double maxSeconds, Random random) =>
        TimeSpan.FromSeconds(random.NextDouble() * Ceiling(failedAttempts, baseSeconds, maxSeconds));

    /// <summary>The longest wait after <paramref name="failedAttempts"/> failures.</summary>
    public static double Ceiling(int failedAttempts, double baseSeconds, double maxSeconds)
    {
        // 2^(n-1) overflows double only far beyond any MaxAttempts; clamp the exponent anyway.
        var exponent = Math.Clamp(failedAttempts - 1, 0, 62);
        return Math.Min(maxSeconds, baseSeconds * Math.Pow(2, exponent));
    }
}

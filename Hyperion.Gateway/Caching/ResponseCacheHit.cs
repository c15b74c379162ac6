namespace Hyperion.Gateway.Caching;

/// <summary>
/// Set by <see cref="ResponseCacheStage"/> when it answered from the cache. The traffic policy, which runs around it,
/// reads it on the way back: an answer that never reached the arm is not counted in the arm's statistics.
/// </summary>
internal sealed class ResponseCacheHit
{
    public static ResponseCacheHit Instance { get; } = new();

    private ResponseCacheHit()
    {
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Hyperion.Gateway.RateLimiting;

/// <summary>
/// Tokens this gateway replica has taken from a caller's shared buckets and not spent yet. Asking Redis on every request
/// costs a busy caller a round trip (and Redis a script) per request, more than the rest of the gateway's work; so the
/// check that does reach Redis may take several tokens at once, in the same atomic script, and the requests that follow
/// spend them here. Tokens leased are gone from the shared bucket, so the replicas together never admit more than it
/// held. A lease doubles while the caller spends it within <see cref="GrowWithinMilliseconds"/>, halves when it lasts
/// longer, and is at most 1/<see cref="BurstShare"/> of the smallest bucket's burst: a caller of a small plan, or one
/// that is not busy, is asked about at every request as before. Tokens a replica holds when its caller moves to another
/// replica are lost after <see cref="RateLimitOptions.LeaseMilliseconds"/> (they are not returned).
/// </summary>
internal sealed class TokenLeases(IOptions<GatewayOptions> options)
{
    public const int BurstShare = 16;
    public const int GrowWithinMilliseconds = 20;
    private const int MaxEntries = 10_000;
    private static readonly long s_growWithinTicks = Stopwatch.Frequency * GrowWithinMilliseconds / 1000;

    private readonly ConcurrentDictionary<(string Subject, string? Model), Lease> _leases = new();
    private int _entries;
    private readonly bool _enabled = options.Value.RateLimiting.Leasing;
    private readonly long _lifetimeTicks = Stopwatch.Frequency * options.Value.RateLimiting.LeaseMilliseconds / 1000;

    /// <summary>Spends one leased token; the decision carries the remaining count including what the lease still holds.</summary>
    public bool TryTake(string subject, string? model, out RateLimitDecision decision)
    {
        if (_enabled && _leases.TryGetValue((subject, model), out var lease))
        {
            return lease.TryTake(Stopwatch.GetTimestamp(), _lifetimeTicks, out decision);
        }
        decision = default;
        return false;
    }

    /// <summary>How many tokens the next check should take from Redis (1 for a caller that is not busy).</summary>
    public int SizeFor(string subject, string? model, int smallestBurst)
    {
        var cap = smallestBurst / BurstShare;
        if (!_enabled || cap <= 1 || !_leases.TryGetValue((subject, model), out var lease))
        {
            return 1;
        }
        return lease.NextSize(Stopwatch.GetTimestamp(), cap);
    }

    /// <summary>Keeps what Redis granted beyond the token this request spends; returns the decision to answer with.</summary>
    public RateLimitDecision Store(string subject, string? model, int smallestBurst, int asked, RateLimitDecision granted)
    {
        // A plan too small to lease from never needs one: nothing to keep.
        if (!_enabled || !granted.Allowed || smallestBurst / BurstShare <= 1)
        {
            return granted;
        }
        if (!_leases.TryGetValue((subject, model), out var lease))
        {
            // Bounded memory: forgetting leases only costs their holders round trips.
            if (Interlocked.Increment(ref _entries) > MaxEntries)
            {
                _leases.Clear();
                Interlocked.Exchange(ref _entries, 0);
            }
            lease = _leases.GetOrAdd((subject, model), static _ => new Lease());
        }
        return lease.Refill(Stopwatch.GetTimestamp(), _lifetimeTicks, asked, granted);
    }

    private sealed class Lease
    {
        private readonly Lock _gate = new();
        private int _tokens;
        private int _size = 1;
        private long _grantedAt;
        private RateLimitDecision _decision;

        public bool TryTake(long now, long lifetime, out RateLimitDecision decision)
        {
            lock (_gate)
            {
                if (_tokens <= 0 || now - _grantedAt > lifetime)
                {
                    decision = default;
                    return false;
                }
                _tokens--;
                decision = _decision with { Remaining = _decision.Remaining + _tokens };
                return true;
            }
        }

        public int NextSize(long now, int cap)
        {
            lock (_gate)
            {
                var elapsed = now - _grantedAt;
                var size = elapsed < s_growWithinTicks ? _size * 2 : elapsed > 4 * s_growWithinTicks ? _size / 2 : _size;
                return Math.Clamp(size, 1, cap);
            }
        }

        public RateLimitDecision Refill(long now, long lifetime, int asked, RateLimitDecision granted)
        {
            lock (_gate)
            {
                var left = now - _grantedAt > lifetime ? 0 : _tokens;
                _tokens = left + granted.Granted - 1;
                _size = asked;
                _grantedAt = now;
                _decision = granted;
                return granted with { Remaining = granted.Remaining + _tokens };
            }
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Claims;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Routing;
using Microsoft.Extensions.Options;

namespace Hyperion.Gateway.Auth;

/// <summary>What the gateway knows of a key.</summary>
internal enum KeyStatus : byte
{
    Valid,
    Invalid,

    /// <summary>Never confirmed, and the orchestrator cannot be asked now.</summary>
    Unavailable,
}

/// <summary>
/// API keys the orchestrator confirmed (or refused), by hash: bounded, a short time to live (refused keys shorter
/// still), one lookup at a time per key, evicted at once on a revocation notice. When the orchestrator cannot be
/// reached, a key it confirmed before is still trusted for <see cref="AuthOptions.KeyStaleSeconds"/>.
/// </summary>
internal sealed partial class ApiKeyCache(
    ControlPlaneClient controlPlane,
    IOptions<GatewayOptions> options,
    GatewayMetrics metrics,
    ILogger<ApiKeyCache> logger)
{
    private readonly ConcurrentDictionary<KeyHash, Entry> _entries = new();
    private readonly ConcurrentDictionary<KeyHash, Task<Entry>> _lookups = new();
    private readonly AuthOptions _options = options.Value.Auth;

    public int Count => _entries.Count;

    /// <summary>The caller for <paramref name="key"/> (a <c>hyp_</c> key), or why there is none.</summary>
    public async ValueTask<(KeyStatus Status, CallerIdentity? Caller)> ResolveAsync(string key, CancellationToken cancellationToken)
    {
        var hash = KeyHash.Of(key);
        var now = Stopwatch.GetTimestamp();
        if (_entries.TryGetValue(hash, out var entry) && now < entry.FreshUntil)
        {
            metrics.KeyLookup("cached");
            return entry.Answer();
        }
        entry = await LookupOnceAsync(hash, cancellationToken);
        return entry.Answer();
    }

    /// <summary>A revocation notice: the key is refused from now on, whatever a lookup in flight answers.</summary>
    public void Revoke(KeyHash hash)
    {
        _entries[hash] = Entry.Revoked(Stopwatch.GetTimestamp() + Seconds(_options.KeyCacheSeconds));
        LogRevoked(logger, hash.ToHex()[..12]);
    }

    /// <summary>Forget everything (notices may have been missed while Redis was unreachable).</summary>
    public void Clear() => _entries.Clear();

    private Task<Entry> LookupOnceAsync(KeyHash hash, CancellationToken cancellationToken)
    {
        // One lookup per key at a time: a burst of requests with a new key asks the orchestrator once.
        var lookup = _lookups.GetOrAdd(hash, static (h, cache) => cache.LookupAsync(h), this);
        return lookup.WaitAsync(cancellationToken);
    }

    private async Task<Entry> LookupAsync(KeyHash hash)
    {
        await Task.Yield();
        try
        {
            using var timeout = new CancellationTokenSource(_options.LookupTimeoutMilliseconds);
            KeyIdentity? identity;
            try
            {
                identity = await controlPlane.LookupKeyAsync(hash.ToHex(), timeout.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
            {
                return Fallback(hash, ex);
            }
            var now = Stopwatch.GetTimestamp();
            var fresh = identity is null
                ? Entry.Refused(now + Seconds(_options.NegativeKeyCacheSeconds))
                : Entry.Confirmed(identity, now + Seconds(_options.KeyCacheSeconds), now + Seconds(_options.KeyCacheSeconds + _options.KeyStaleSeconds));
            metrics.KeyLookup(identity is null ? "not_found" : "found");
            Store(hash, fresh, now);
            return fresh;
        }
        finally
        {
            _lookups.TryRemove(hash, out _);
        }
    }

    private Entry Fallback(KeyHash hash, Exception failure)
    {
        var now = Stopwatch.GetTimestamp();
        if (_entries.TryGetValue(hash, out var known) && known.Identity is not null && now < known.StaleUntil)
        {
            // Serve the last answer, and ask again in a few seconds rather than on every request.
            metrics.KeyLookup("stale");
            LogServingStale(logger, failure);
            var extended = known with { FreshUntil = Math.Min(known.StaleUntil, now + Seconds(2)) };
            _entries[hash] = extended;
            return extended;
        }
        metrics.KeyLookup("failed");
        LogLookupFailed(logger, failure);
        return Entry.Unavailable;
    }

    private void Store(KeyHash hash, Entry entry, long now)
    {
        if (_entries.TryGetValue(hash, out var existing) && existing.IsRevocation && now < existing.FreshUntil)
        {
            return; // revoked while the lookup was in flight
        }
        if (_entries.Count >= _options.KeyCacheCapacity)
        {
            Evict(now);
        }
        _entries[hash] = entry;
    }

    private void Evict(long now)
    {
        foreach (var (hash, entry) in _entries)
        {
            if (now >= entry.StaleUntil)
            {
                _entries.TryRemove(hash, out _);
            }
        }
        // Still full: drop an arbitrary tenth; they are looked up again when next used.
        var excess = _entries.Count - (_options.KeyCacheCapacity * 9 / 10);
        foreach (var hash in _entries.Keys)
        {
            if (excess-- <= 0)
            {
                break;
            }
            _entries.TryRemove(hash, out _);
        }
    }

    private static long Seconds(int seconds) => seconds * Stopwatch.Frequency;

    private sealed record Entry(KeyStatus Status, CallerIdentity? Caller, KeyIdentity? Identity, long FreshUntil, long StaleUntil, bool IsRevocation = false)
    {
        public static readonly Entry Unavailable = new(KeyStatus.Unavailable, null, null, 0, 0);

        public static Entry Refused(long until) => new(KeyStatus.Invalid, null, null, until, until);

        public static Entry Revoked(long until) => new(KeyStatus.Invalid, null, null, until, until, IsRevocation: true);

        public static Entry Confirmed(KeyIdentity identity, long freshUntil, long staleUntil)
        {
            var claims = new List<Claim>(identity.Scopes.Count + 3)
            {
                new(ClaimTypes.NameIdentifier, identity.Id.ToString()),
                new(ClaimTypes.Name, identity.Name),
            };
            foreach (var scope in identity.Scopes)
            {
                claims.Add(new Claim(Scopes.ClaimType, scope));
            }
            if (identity.Team is { } team)
            {
                claims.Add(new Claim(Scopes.TeamClaimType, team));
            }
            var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, "ApiKey", ClaimTypes.Name, Scopes.ClaimType));
            var caller = new CallerIdentity("key:" + identity.Id.ToString("N"), identity.Scopes, identity.RateLimit, principal, identity.Team, identity.Quota, identity.TeamQuota);
            return new Entry(KeyStatus.Valid, caller, identity, freshUntil, staleUntil);
        }

        public (KeyStatus, CallerIdentity?) Answer() =>
            Status == KeyStatus.Valid && Identity!.ExpiresAt is { } expires && expires <= DateTimeOffset.UtcNow
                ? (KeyStatus.Invalid, null)
                : (Status, Caller);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Key {Prefix}… revoked: evicted from the cache")]
    private static partial void LogRevoked(ILogger logger, string prefix);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key lookup failed, serving the key's last confirmed identity")]
    private static partial void LogServingStale(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key lookup failed and the key was never confirmed")]
    private static partial void LogLookupFailed(ILogger logger, Exception exception);
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Hyperion.Gateway.Routing;

namespace Hyperion.Gateway.Auth;

/// <summary>
/// JWTs that validated, by their exact text, until they expire (at most a minute): validating a signature and
/// building claims on every request would cost more than forwarding it. Bounded; a full cache is cleared.
/// </summary>
internal sealed class ValidatedTokenCache
{
    private const int Capacity = 10_000;
    private static readonly long s_maxAge = 60 * Stopwatch.Frequency;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public ValidatedTokenCache() => _bySpan = _entries.GetAlternateLookup<ReadOnlySpan<char>>();

    public CallerIdentity? Find(ReadOnlySpan<char> token) =>
        _bySpan.TryGetValue(token, out var entry) && Stopwatch.GetTimestamp() < entry.Until ? entry.Caller : null;

    public void Add(ReadOnlySpan<char> token, CallerIdentity caller)
    {
        var now = Stopwatch.GetTimestamp();
        var until = now + s_maxAge;
        if (caller.Principal.FindFirst("exp")?.Value is { } exp && long.TryParse(exp, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
        {
            var left = seconds - DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            until = Math.Min(until, now + (Math.Max(0, left) * Stopwatch.Frequency));
        }
        if (_entries.Count >= Capacity)
        {
            _entries.Clear();
        }
        _bySpan[token] = new Entry(caller, until);
    }

    private sealed record Entry(CallerIdentity Caller, long Until);
}

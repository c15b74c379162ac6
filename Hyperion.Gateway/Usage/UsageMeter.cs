using System.Collections.Concurrent;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Gateway.Usage;

/// <summary>
/// Requests, rows and compute milliseconds per UTC day, caller, team and model, counted in memory on the request path
/// (three interlocked adds) and added to Redis by <see cref="UsageFlusher"/> about once a second: no request waits for
/// Redis, let alone for a database.
/// </summary>
internal sealed class UsageMeter(TimeProvider time)
{
    private readonly ConcurrentDictionary<UsageKey, UsageCounts> _counts = new();
    private (int DayNumber, string Day) _today;

    public void Record(string caller, string team, string model, long rows, long computeMilliseconds)
    {
        var counts = _counts.GetOrAdd(new UsageKey(Today(), caller, team, model), static _ => new UsageCounts());
        counts.Add(rows, computeMilliseconds);
    }

    public IEnumerable<KeyValuePair<UsageKey, UsageCounts>> All => _counts;

    /// <summary>Forgets the entries of days before yesterday once drained: nothing records into them any more.</summary>
    public void ForgetOldDays()
    {
        var yesterday = UsageCounters.Day(time.GetUtcNow().AddDays(-1));
        foreach (var (key, counts) in _counts)
        {
            if (string.CompareOrdinal(key.Day, yesterday) < 0 && counts.IsZero)
            {
                _counts.TryRemove(key, out _);
            }
        }
    }

    // The day's string once per day, not once per request.
    private string Today()
    {
        var now = time.GetUtcNow();
        var dayNumber = DateOnly.FromDateTime(now.UtcDateTime).DayNumber;
        var today = _today;
        if (today.DayNumber != dayNumber || today.Day is null)
        {
            today = (dayNumber, UsageCounters.Day(now));
            _today = today;
        }
        return today.Day;
    }
}

/// <param name="Team">"" for a caller without a team.</param>
internal readonly record struct UsageKey(string Day, string Caller, string Team, string Model);

/// <summary>Counts since the last flush; a request adds once, the flusher drains once a second.</summary>
internal sealed class UsageCounts
{
    private long _requests;
    private long _rows;
    private long _computeMilliseconds;

    public bool IsZero => Interlocked.Read(ref _requests) == 0 && Interlocked.Read(ref _rows) == 0 && Interlocked.Read(ref _computeMilliseconds) == 0;

    public void Add(long rows, long computeMilliseconds)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _rows, rows);
        Interlocked.Add(ref _computeMilliseconds, computeMilliseconds);
    }

    public (long Requests, long Rows, long ComputeMilliseconds) Drain() =>
        (Interlocked.Exchange(ref _requests, 0), Interlocked.Exchange(ref _rows, 0), Interlocked.Exchange(ref _computeMilliseconds, 0));

    /// <summary>Puts back what could not be written, for the next flush.</summary>
    public void Restore((long Requests, long Rows, long ComputeMilliseconds) delta)
    {
        Interlocked.Add(ref _requests, delta.Requests);
        Interlocked.Add(ref _rows, delta.Rows);
        Interlocked.Add(ref _computeMilliseconds, delta.ComputeMilliseconds);
    }
}

using System.Globalization;
using Hyperion.Contracts.ControlPlane;
using StackExchange.Redis;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// Reads the per-arm counters the gateways keep in Redis (<see cref="ArmStatisticsKeys"/>). A missing hash is an arm
/// that has not been counted yet (zeros). Redis being down throws <see cref="StatisticsUnavailableException"/>:
/// the controller then waits rather than judging a canary on numbers it does not have.
/// </summary>
internal sealed class ArmStatisticsReader(IConnectionMultiplexer redis)
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    public async Task<ArmTotals> ReadAsync(string model, long version, string arm)
    {
        var entries = await ReadHashAsync(ArmStatisticsKeys.For(model, version, arm));
        return ArmTotals.FromHash(version, entries);
    }

    public async Task<ShadowTotals> ReadShadowAsync(string model, long version)
    {
        var entries = await ReadHashAsync(ArmStatisticsKeys.For(model, version, ArmStatisticsKeys.Shadow));
        long compared = 0, agreed = 0;
        double sum = 0, max = 0;
        foreach (var entry in entries)
        {
            switch ((string?)entry.Name)
            {
                case ArmStatisticsKeys.Compared:
                    compared = (long)Number(entry.Value);
                    break;
                case ArmStatisticsKeys.Agreed:
                    agreed = (long)Number(entry.Value);
                    break;
                case ArmStatisticsKeys.AbsDiffSum:
                    sum = Number(entry.Value);
                    break;
                case ArmStatisticsKeys.AbsDiffMax:
                    max = Math.Max(0, Number(entry.Value));
                    break;
            }
        }
        return new ShadowTotals(ArmTotals.FromHash(version, entries), compared, agreed, sum, max);
    }

    private async Task<HashEntry[]> ReadHashAsync(string key)
    {
        if (!redis.IsConnected)
        {
            throw new StatisticsUnavailableException("Redis is not connected");
        }
        try
        {
            return await redis.GetDatabase().HashGetAllAsync(key).WaitAsync(ReadTimeout);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new StatisticsUnavailableException(ex.Message, ex);
        }
    }

    private static double Number(RedisValue value) =>
        double.TryParse((string?)value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? number : 0;
}

/// <summary>The shadow arm's counters: its own traffic numbers and its comparisons with stable's answers.</summary>
internal sealed record ShadowTotals(ArmTotals Arm, long Compared, long Agreed, double AbsDiffSum, double AbsDiffMax);

internal sealed class StatisticsUnavailableException(string message, Exception? inner = null)
    : Exception($"per-arm statistics could not be read from Redis: {message}", inner);

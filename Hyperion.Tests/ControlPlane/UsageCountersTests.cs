using Hyperion.Contracts.ControlPlane;
using StackExchange.Redis;
using OrchestratorFlusher = Hyperion.Orchestrator.Usage.UsageFlusher;

namespace Hyperion.Tests.ControlPlane;

/// <summary>The usage hash's fields, as the gateways write them and the orchestrator reads and sums them.</summary>
public sealed class UsageCountersTests
{
    [Fact]
    public void A_field_is_read_back_as_written_even_when_a_JWT_subject_holds_the_separator()
    {
        var field = UsageCounters.Field("2026-12-04", "jwt:team|ci", "vision", "digits.v2", UsageCounters.Rows);
        Assert.True(UsageCounters.TryParse(field, out var parsed));
        Assert.Equal(new UsageField(new DateOnly(2026, 12, 4), "jwt:team|ci", "vision", "digits.v2", UsageCounters.Rows), parsed);

        Assert.True(UsageCounters.TryParse(UsageCounters.Field("2026-12-04", "key:abc", "", "digits", UsageCounters.Requests), out var unteamed));
        Assert.Equal("", unteamed.Team);
    }

    [Theory]
    [InlineData("2026-12-04|key:abc|vision|digits|seconds")]
    [InlineData("yesterday|key:abc|vision|digits|requests")]
    [InlineData("2026-12-04|key:abc|digits|requests")]
    [InlineData("")]
    public void Fields_this_version_did_not_write_are_refused(string field) =>
        Assert.False(UsageCounters.TryParse(field, out _));

    [Fact]
    public void A_batch_is_summed_per_day_caller_team_and_model_and_unreadable_fields_are_counted_not_summed()
    {
        HashEntry[] batch =
        [
            new(UsageCounters.Field("2026-12-04", "key:a", "vision", "digits", UsageCounters.Requests), 3),
            new(UsageCounters.Field("2026-12-04", "key:a", "vision", "digits", UsageCounters.Rows), 7),
            new(UsageCounters.Field("2026-12-04", "key:a", "vision", "digits", UsageCounters.ComputeMilliseconds), 120),
            new(UsageCounters.Field("2026-12-05", "key:a", "vision", "digits", UsageCounters.Requests), 1),
            new(UsageCounters.Field("2026-12-04", "key:b", "", "digits", UsageCounters.Requests), 2),
            new("garbage", 5),
        ];
        var rows = OrchestratorFlusher.Aggregate(batch, out var unreadable);
        Assert.Equal(1, unreadable);
        Assert.Equal(3, rows.Count);
        Assert.Equal([3L, 7L, 120L], rows[(new DateOnly(2026, 12, 4), "key:a", "vision", "digits")]);
        Assert.Equal([1L, 0L, 0L], rows[(new DateOnly(2026, 12, 5), "key:a", "vision", "digits")]);
        Assert.Equal([2L, 0L, 0L], rows[(new DateOnly(2026, 12, 4), "key:b", "", "digits")]);
    }
}

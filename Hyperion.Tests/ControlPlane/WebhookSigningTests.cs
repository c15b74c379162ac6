using System.Text;
using System.Text.Json;
using Hyperion.Orchestrator.Notifications;

namespace Hyperion.Tests.ControlPlane;

/// <summary>The signature scheme, the envelope and the back-off, as docs/webhooks.md documents them.</summary>
public sealed class WebhookSigningTests
{
    [Fact]
    public void The_signature_is_hmac_sha256_of_timestamp_dot_body_in_hex()
    {
        // Computed independently: python3 -c "import hmac,hashlib; print(hmac.new(b'whsec_test_0123456789abcdef',
        //   b'1700000000.{\"id\":\"x\"}', hashlib.sha256).hexdigest())"
        const string Expected = "sha256=8638ae228a01206b474401cb2aeccde57cef3d9ff95be949ffe8b488fcad3f34";

        Assert.Equal(Expected, WebhookSignature.Compute("whsec_test_0123456789abcdef", 1700000000, """{"id":"x"}"""u8));
        Assert.NotEqual(Expected, WebhookSignature.Compute("whsec_test_0123456789abcdef", 1700000001, """{"id":"x"}"""u8));
        Assert.NotEqual(Expected, WebhookSignature.Compute("whsec_test_0123456789abcdef", 1700000000, """{"id":"y"}"""u8));
    }

    [Fact]
    public void The_envelope_is_snake_case_in_a_fixed_order_with_compact_data()
    {
        var id = Guid.Parse("0190f3a1-7b2c-7d4e-8f00-123456789abc");
        var body = WebhookEnvelope.Write(
            id, "rollout.rolled_back", "digits", new DateTime(2026, 11, 23, 14, 16, 0, 123, DateTimeKind.Utc), "system:rollout",
            """{"reason": "canary error rate", "evidence": {"canary": {"error_rate": 0.12}}}""");

        Assert.Equal(
            """{"id":"0190f3a1-7b2c-7d4e-8f00-123456789abc","type":"rollout.rolled_back","model":"digits","occurred_at":"2026-11-23T14:16:00.123Z","actor":"system:rollout","data":{"reason":"canary error rate","evidence":{"canary":{"error_rate":0.12}}}}""",
            Encoding.UTF8.GetString(body));
        using var noModel = JsonDocument.Parse(WebhookEnvelope.Write(id, "ping", null, DateTime.UtcNow, "key:ci", "{}"));
        Assert.Equal(JsonValueKind.Null, noModel.RootElement.GetProperty("model").ValueKind);
    }

    [Fact]
    public void Back_off_doubles_from_the_base_up_to_the_cap_with_full_jitter()
    {
        Assert.Equal([5, 10, 20, 40, 60, 60], Enumerable.Range(1, 6).Select(n => WebhookBackoff.Ceiling(n, 5, 60)));
        Assert.Equal(3600, WebhookBackoff.Ceiling(10_000, 5, 3600));

        var random = new Random(42);
        var delays = Enumerable.Range(0, 1000).Select(_ => WebhookBackoff.Delay(3, 5, 60, random).TotalSeconds).ToArray();
        Assert.All(delays, d => Assert.InRange(d, 0, 20));
        // Full jitter: spread over the whole range, not bunched at the ceiling.
        Assert.True(delays.Min() < 2 && delays.Max() > 18, $"delays from {delays.Min():0.00} to {delays.Max():0.00} s");
        Assert.InRange(delays.Average(), 8, 12);
    }
}

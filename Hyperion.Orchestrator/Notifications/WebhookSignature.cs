using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// How a delivery is signed, in the style of Stripe and Slack: the timestamp is signed with the body, so a
/// captured request cannot be replayed later. A receiver:
/// <list type="number">
/// <item>takes <c>X-Hyperion-Timestamp</c> (Unix seconds) and the raw body bytes, exactly as received;</item>
/// <item>computes <c>HMAC-SHA256(key: UTF-8 bytes of the secret, message: timestamp + "." + body)</c> as lower-case hex;</item>
/// <item>compares <c>"sha256=" + hex</c> with <c>X-Hyperion-Signature</c> in constant time;</item>
/// <item>refuses timestamps more than 5 minutes from its clock, and de-duplicates on <c>X-Hyperion-Event-Id</c>.</item>
/// </list>
/// </summary>
internal static class WebhookSignature
{
    public const string Prefix = "sha256=";

    /// <summary><c>sha256=&lt;hex&gt;</c> over <c>"{timestamp}.{body}"</c>.</summary>
    public static string Compute(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var stamp = timestamp.ToString(CultureInfo.InvariantCulture);
        var message = new byte[stamp.Length + 1 + body.Length];
        Encoding.ASCII.GetBytes(stamp, message);
        message[stamp.Length] = (byte)'.';
        body.CopyTo(message.AsSpan(stamp.Length + 1));
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message);
        return Prefix + Convert.ToHexStringLower(mac);
    }
}

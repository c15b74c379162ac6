using System.Globalization;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Deployments;
using StackExchange.Redis;

namespace Hyperion.Orchestrator.Captures;

/// <summary>Reads one entry of <see cref="CaptureStream"/> into a row, applying the deployment's monitoring (redaction, payloads).</summary>
internal static class CaptureEntryReader
{
    private const int MaxRequestIdLength = 200;

    /// <summary>The entry's model, or null when it has none (such an entry is malformed).</summary>
    public static string? ModelOf(StreamEntry entry) => Field(entry, CaptureStream.Model) is { IsNullOrEmpty: false } model ? (string)model! : null;

    /// <exception cref="CaptureFormatException">A field is missing or wrong, or the bodies are not OIP JSON.</exception>
    public static CaptureRow Read(StreamEntry entry, MonitoringSpec monitoring)
    {
        var model = ModelOf(entry) ?? throw new CaptureFormatException("the entry has no model");
        var version = long.TryParse(Text(entry, CaptureStream.Version), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new CaptureFormatException("the entry's version is not a positive integer");
        var arm = Text(entry, CaptureStream.Arm);
        if (arm is not (ArmStatisticsKeys.Stable or ArmStatisticsKeys.Canary or ArmStatisticsKeys.Shadow))
        {
            throw new CaptureFormatException($"the entry's arm '{arm}' is not stable, canary or shadow");
        }
        var requestId = Text(entry, CaptureStream.RequestId);
        if (requestId.Length is 0 or > MaxRequestIdLength)
        {
            throw new CaptureFormatException($"the entry's request id is empty or longer than {MaxRequestIdLength} characters");
        }
        var capturedAt = long.TryParse(Text(entry, CaptureStream.CapturedAt), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? ms
            : throw new CaptureFormatException("the entry's captured_at is not Unix milliseconds");
        var request = (byte[]?)Field(entry, CaptureStream.Request) ?? throw new CaptureFormatException("the entry has no request");
        var response = (byte[]?)Field(entry, CaptureStream.Response) ?? throw new CaptureFormatException("the entry has no response");
        var parsed = CaptureParser.Parse(request, response, monitoring.Redact, monitoring.CapturePayloads);
        return new CaptureRow(model, version, arm, requestId, capturedAt, parsed);
    }

    private static string Text(StreamEntry entry, string name) => (string?)Field(entry, name) ?? "";

    private static RedisValue Field(StreamEntry entry, string name)
    {
        foreach (var field in entry.Values)
        {
            if (field.Name == name)
            {
                return field.Value;
            }
        }
        return RedisValue.Null;
    }
}

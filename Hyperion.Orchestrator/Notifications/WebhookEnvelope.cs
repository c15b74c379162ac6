using System.Buffers;
using System.Text.Json;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// The body every webhook receives, snake_case like the rest of the control plane:
/// <c>{"id": event id, "type", "model" (or null), "occurred_at" (ISO 8601 UTC), "actor", "data": {...}}</c>.
/// Written the same way at every attempt, so retries carry the very same bytes.
/// </summary>
internal static class WebhookEnvelope
{
    public static byte[] Write(Guid eventId, string type, string? model, DateTime occurredAtUtc, string actor, string dataJson)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + dataJson.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", eventId);
            writer.WriteString("type", type);
            if (model is null)
            {
                writer.WriteNull("model");
            }
            else
            {
                writer.WriteString("model", model);
            }
            writer.WriteString("occurred_at", DateTime.SpecifyKind(occurredAtUtc, DateTimeKind.Utc));
            writer.WriteString("actor", actor);
            writer.WritePropertyName("data");
            // PostgreSQL's jsonb text has spaces after ':' and ','; re-writing it keeps the body compact.
            using (var data = JsonDocument.Parse(dataJson))
            {
                data.WriteTo(writer);
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}

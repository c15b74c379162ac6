using System.Text.Json;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// Turns the JSON reader's exceptions into messages about the deployment spec (which field, what was expected)
/// instead of .NET type names.
/// </summary>
internal static class SpecJsonErrors
{
    public const string Fields = "stable, canary, shadow, cache, batching, max_batch_size, instances, pool, replicas";

    public static string Describe(JsonException exception)
    {
        var path = exception.Path is { Length: > 1 } p ? p : "$";
        var message = exception.Message;
        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            var field = path[(path.LastIndexOf('.') + 1)..];
            return $"Unknown field '{field}' at {path}; a deployment spec has {Fields} (canary: version, percent or steps, step_seconds, min_requests, max_error_rate_delta, max_p95_latency_ratio; shadow: version, percent; cache: enabled, ttl_seconds; instances: count, kind; batching: max_queue_delay_microseconds, preferred_batch_size, max_queue_size, default_timeout_microseconds).";
        }
        if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            return $"{path} has the wrong type: expected {Expected(path)}.";
        }
        if (exception.LineNumber is { } line)
        {
            return $"The body is not valid JSON (line {line + 1}, byte {exception.BytePositionInLine + 1}): {FirstSentence(message)} Expected a JSON object such as {{\"stable\": 1}}.";
        }
        return $"The body is not a valid deployment spec: {FirstSentence(message)} Expected a JSON object such as {{\"stable\": 1}}.";
    }

    private static string Expected(string path)
    {
        var field = path[(path.LastIndexOf('.') + 1)..];
        var bracket = field.IndexOf('[', StringComparison.Ordinal);
        var element = bracket >= 0;
        if (element)
        {
            field = field[..bracket];
        }
        return field switch
        {
            "$" => "a JSON object such as {\"stable\": 1}",
            "stable" or "version" or "replicas" or "max_batch_size" or "count" or "ttl_seconds" or "step_seconds" or "min_requests"
                or "max_queue_delay_microseconds" or "max_queue_size" or "default_timeout_microseconds" => "a whole number",
            "percent" or "max_error_rate_delta" or "max_p95_latency_ratio" => "a number",
            "steps" => element ? "a percent (a number in 1..100)" : "an array of percents such as [10, 50, 100]",
            "preferred_batch_size" => element ? "a batch size (a whole number)" : "an array of batch sizes such as [4, 8]",
            "enabled" => "true or false",
            "pool" or "kind" => "a string",
            "canary" => "an object such as {\"version\": 2, \"percent\": 10}",
            "shadow" => "an object such as {\"version\": 3, \"percent\": 100}",
            "cache" => "an object such as {\"enabled\": true, \"ttl_seconds\": 60}",
            "instances" => "an object such as {\"count\": 2, \"kind\": \"cpu\"}",
            "batching" => "an object such as {\"max_queue_delay_microseconds\": 500}",
            _ => "another type",
        };
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        var text = cut > 0 ? message[..cut] : message;
        return text.EndsWith('.') ? text : text + ".";
    }
}

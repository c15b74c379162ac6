using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;

namespace Hyperion.Orchestrator.Keys;

/// <summary>
/// Reads a JSON body itself rather than through parameter binding, so a malformed body gets a problem whose detail
/// names the mistake (where the JSON breaks, which field has the wrong type) and the shape expected.
/// </summary>
internal static class JsonBody
{
    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, string expected, CancellationToken cancellationToken)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            return (null, ApiProblems.UnsupportedMediaType(
                $"the body must be JSON with 'Content-Type: application/json' (got '{request.ContentType ?? "none"}'); expected {expected}"));
        }
        try
        {
            var value = await request.ReadFromJsonAsync<T>(ControlPlaneJson.Options, cancellationToken);
            return value is null
                ? (null, ApiProblems.BadRequest($"the body is JSON null; expected {expected}"))
                : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, ApiProblems.BadRequest($"the body is not valid: {Describe(ex)}; expected {expected}"));
        }
    }

    private static string Describe(JsonException ex)
    {
        // System.Text.Json names .NET types in its messages; users know the JSON, not our types.
        var message = ex.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0)
        {
            message = message[..cut];
        }
        if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            message = "a value has the wrong type or format";
        }
        else if (message.StartsWith("The JSON property '", StringComparison.Ordinal) && message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            var name = message["The JSON property '".Length..];
            message = $"unknown field '{name[..name.IndexOf('\'', StringComparison.Ordinal)]}'";
        }
        message = message.TrimEnd('.');
        return ex.Path is { Length: > 1 } path ? $"{message} (at {path})" : message;
    }
}

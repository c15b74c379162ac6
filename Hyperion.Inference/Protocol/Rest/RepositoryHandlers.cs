using System.Text.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Inference.Serving;

namespace Hyperion.Inference.Protocol.Rest;

/// <summary>Triton's model repository extension: index, load and unload.</summary>
internal sealed class RepositoryHandlers(IModelCatalog catalog, ILogger<RepositoryHandlers> logger)
{
    private const int MaxIndexBodyBytes = 64 * 1024;

    /// <summary><c>POST /v2/repository/index</c>, body optional: <c>{"ready": true}</c> lists only ready versions.</summary>
    public async Task IndexAsync(HttpContext context)
    {
        try
        {
            bool readyOnly;
            using (var body = await RequestBody.ReadAsync(context.Request, MaxIndexBodyBytes, context.RequestAborted))
            {
                readyOnly = ReadReadyFilter(body);
            }
            var entries = catalog.Index();
            await JsonBody.WriteAsync(context, StatusCodes.Status200OK, (entries, readyOnly), static (writer, state) =>
            {
                writer.WriteStartArray();
                foreach (var entry in state.entries)
                {
                    if (state.readyOnly && entry.State != ModelVersionState.Ready)
                    {
                        continue;
                    }
                    writer.WriteStartObject();
                    writer.WriteString("name"u8, entry.Name);
                    writer.WriteString("version"u8, entry.Version);
                    writer.WriteString("state"u8, StateName(entry.State));
                    if (entry.Reason is { Length: > 0 } reason)
                    {
                        writer.WriteString("reason"u8, reason);
                    }
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            });
        }
        catch (Exception ex)
        {
            await RestFailures.WriteAsync(context, ex, logger);
        }
    }

    public Task LoadAsync(HttpContext context) => ControlModelAsync(context, catalog.LoadAsync);

    public Task UnloadAsync(HttpContext context) => ControlModelAsync(context, catalog.UnloadAsync);

    /// <summary>Runs a load or unload on the route's model and answers <c>{}</c>, or the protocol's error.</summary>
    private async Task ControlModelAsync(HttpContext context, Func<string, CancellationToken, Task> action)
    {
        try
        {
            var model = (string)context.Request.RouteValues["model"]!;
            await action(model, context.RequestAborted);
            await WriteEmptyObjectAsync(context);
        }
        catch (Exception ex)
        {
            await RestFailures.WriteAsync(context, ex, logger);
        }
    }

    /// <summary>Triton's state names: a failed load is UNAVAILABLE with its reason.</summary>
    private static string StateName(ModelVersionState state) => state switch
    {
        ModelVersionState.Ready => "READY",
        ModelVersionState.Loading => "LOADING",
        ModelVersionState.Unloading => "UNLOADING",
        _ => "UNAVAILABLE",
    };

    private static bool ReadReadyFilter(RequestBody body)
    {
        if (body.Length == 0)
        {
            return false;
        }
        try
        {
            var reader = new Utf8JsonReader(body.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw InferenceException.Invalid("the repository index body must be a JSON object such as {\"ready\": true}");
            }
            var ready = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isReady = reader.ValueTextEquals("ready"u8);
                reader.Read();
                if (!isReady)
                {
                    reader.Skip();
                }
                else if (reader.TokenType is JsonTokenType.True or JsonTokenType.False)
                {
                    ready = reader.TokenType == JsonTokenType.True;
                }
                else
                {
                    throw InferenceException.Invalid("'ready' must be true or false");
                }
            }
            return ready;
        }
        catch (JsonException ex)
        {
            throw InferenceException.Invalid($"the repository index body is not valid JSON: {ex.Message}");
        }
    }

    private static Task WriteEmptyObjectAsync(HttpContext context) =>
        JsonBody.WriteAsync(context, StatusCodes.Status200OK, 0, static (writer, _) =>
        {
            writer.WriteStartObject();
            writer.WriteEndObject();
        });
}

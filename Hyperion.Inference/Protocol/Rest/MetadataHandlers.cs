using System.Text.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Models;
using Hyperion.Inference.Serving;

namespace Hyperion.Inference.Protocol.Rest;

/// <summary>Health, server metadata, model metadata, model readiness and model configuration.</summary>
internal sealed class MetadataHandlers(IModelCatalog catalog, ILogger<MetadataHandlers> logger)
{
    private static readonly JsonSerializerOptions ConfigJson = new()
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public Task LiveAsync(HttpContext context) =>
        JsonBody.WriteAsync(context, StatusCodes.Status200OK, true, static (writer, live) =>
        {
            writer.WriteStartObject();
            writer.WriteBoolean("live"u8, live);
            writer.WriteEndObject();
        });

    /// <summary>200 when ready; the protocol answers "not ready" with a 4xx (400, as Triton does).</summary>
    public Task ReadyAsync(HttpContext context)
    {
        var ready = catalog.IsServerReady;
        return JsonBody.WriteAsync(context, ready ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest, ready, static (writer, isReady) =>
        {
            writer.WriteStartObject();
            writer.WriteBoolean("ready"u8, isReady);
            if (!isReady)
            {
                writer.WriteString("error"u8, "the server is still loading its model repository");
            }
            writer.WriteEndObject();
        });
    }

    public Task ServerMetadataAsync(HttpContext context) =>
        JsonBody.WriteAsync(context, StatusCodes.Status200OK, 0, static (writer, _) =>
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, ServerIdentity.Name);
            writer.WriteString("version"u8, ServerIdentity.Version);
            writer.WriteStartArray("extensions"u8);
            foreach (var extension in ServerIdentity.Extensions)
            {
                writer.WriteStringValue(extension);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        });

    public async Task ModelMetadataAsync(HttpContext context)
    {
        try
        {
            var (model, version) = RouteModel(context);
            var descriptor = catalog.Describe(model, version);
            await JsonBody.WriteAsync(context, StatusCodes.Status200OK, descriptor, static (writer, d) =>
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, d.Name);
                writer.WriteStartArray("versions"u8);
                foreach (var v in d.ReadyVersions)
                {
                    writer.WriteStringValue(v);
                }
                writer.WriteEndArray();
                writer.WriteString("platform"u8, d.Config.Platform);
                WriteTensors(writer, "inputs"u8, d.Config, d.Config.Input);
                WriteTensors(writer, "outputs"u8, d.Config, d.Config.Output);
                writer.WriteEndObject();
            });
        }
        catch (Exception ex)
        {
            await RestFailures.WriteAsync(context, ex, logger);
        }
    }

    /// <summary>200 when the model (version) can serve; 400 when it exists but cannot yet, 404 when it is unknown.</summary>
    public async Task ModelReadyAsync(HttpContext context)
    {
        try
        {
            var (model, version) = RouteModel(context);
            if (catalog.IsReady(model, version))
            {
                await JsonBody.WriteAsync(context, StatusCodes.Status200OK, model, static (writer, name) =>
                {
                    writer.WriteStartObject();
                    writer.WriteString("name"u8, name);
                    writer.WriteBoolean("ready"u8, true);
                    writer.WriteEndObject();
                });
                return;
            }
            var what = version is null ? $"model '{model}'" : $"model '{model}' version {version}";
            var reason = "see POST /v2/repository/index for its state";
            try
            {
                catalog.Describe(model, version);
            }
            catch (InferenceException ex) when (ex.Kind != InferenceErrorKind.NotFound)
            {
                // Known but unusable (failed or unloaded): the catalog says why. NotFound propagates and answers 404.
                reason = ex.Message;
            }
            await JsonBody.WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"{what} is not ready: {reason}");
        }
        catch (Exception ex)
        {
            await RestFailures.WriteAsync(context, ex, logger);
        }
    }

    /// <summary>Triton's model configuration extension: the effective (auto-completed) configuration.</summary>
    public async Task ModelConfigAsync(HttpContext context)
    {
        try
        {
            var (model, version) = RouteModel(context);
            var descriptor = catalog.Describe(model, version);
            var config = descriptor.Config with { Name = descriptor.Config.Name ?? descriptor.Name };
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = JsonBody.ContentType;
            await JsonSerializer.SerializeAsync(context.Response.Body, config, ConfigJson, context.RequestAborted);
        }
        catch (Exception ex)
        {
            await RestFailures.WriteAsync(context, ex, logger);
        }
    }

    private static void WriteTensors(Utf8JsonWriter writer, ReadOnlySpan<byte> property, ModelConfig config, IReadOnlyList<ModelTensorConfig> tensors)
    {
        writer.WriteStartArray(property);
        foreach (var tensor in tensors)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, tensor.Name);
            writer.WriteString("datatype"u8, tensor.DataType);
            writer.WriteStartArray("shape"u8);
            foreach (var dim in ModelTensorShapes.Published(config, tensor))
            {
                writer.WriteNumberValue(dim);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    internal static (string Model, string? Version) RouteModel(HttpContext context)
    {
        var values = context.Request.RouteValues;
        return ((string)values["model"]!, values["version"] as string);
    }
}

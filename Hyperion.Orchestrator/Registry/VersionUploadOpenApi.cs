using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Hyperion.Orchestrator.Registry;

/// <summary>
/// The upload's parts for the OpenAPI document. <see cref="VersionUpload"/> reads them itself, as they stream in, and
/// <c>Accepts(...)</c> would make routing refuse other media types with a bare 415 before it could explain.
/// </summary>
internal static class VersionUploadOpenApi
{
    public static RouteHandlerBuilder WithUploadBody(this RouteHandlerBuilder builder) =>
        builder.AddOpenApiOperationTransformer((operation, context, cancellationToken) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["multipart/form-data"] = new()
                    {
                        Schema = new OpenApiSchema
                        {
                            Type = JsonSchemaType.Object,
                            Required = new HashSet<string> { VersionUpload.ArtifactPart },
                            Properties = new Dictionary<string, IOpenApiSchema>
                            {
                                [VersionUpload.ArtifactPart] = Text("The model file (ONNX).", "binary"),
                                [VersionUpload.ConfigPart] = Text("The repository config (config.json) as JSON; completed from the model when absent."),
                                [VersionUpload.LineagePart] = Text("Lineage as any JSON object, kept as given: git_commit, dataset (a name, URI or object), dataset_version, parameters or params, metrics, parent_version, run_id, ... (MLflow and DVC forms are read; see lineage_normalized)"),
                                [VersionUpload.BaselineProfilePart] = Text("Per-feature histograms of the training inputs as a JSON object: input, rows, bins, features."),
                            },
                        },
                    },
                },
            };
            return Task.CompletedTask;
        });

    private static OpenApiSchema Text(string description, string? format = null) =>
        new() { Type = JsonSchemaType.String, Format = format, Description = description };
}

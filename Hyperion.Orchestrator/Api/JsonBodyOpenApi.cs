using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Hyperion.Orchestrator.Api;

/// <summary>
/// Describes a body read by <see cref="JsonBody"/> in the OpenAPI document. Not <c>Accepts&lt;T&gt;()</c>: that metadata
/// makes routing answer a wrong Content-Type with a bare 415 before the handler can say what was expected.
/// </summary>
internal static class JsonBodyOpenApi
{
    public static RouteHandlerBuilder WithJsonBody<T>(this RouteHandlerBuilder builder) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken);
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
            };
        });
}

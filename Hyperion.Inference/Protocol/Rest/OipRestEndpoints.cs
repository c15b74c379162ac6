namespace Hyperion.Inference.Protocol.Rest;

/// <summary>The Open Inference Protocol's REST routes, Triton's repository and configuration extensions, and KServe V1.</summary>
internal static class OipRestEndpoints
{
    public static IEndpointRouteBuilder MapOipRest(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var metadata = services.GetRequiredService<MetadataHandlers>();
        var infer = services.GetRequiredService<InferHandler>();
        var repository = services.GetRequiredService<RepositoryHandlers>();
        var v1 = services.GetRequiredService<V1PredictHandler>();

        // Plain RequestDelegates: no parameter binding or filters on the hot path.
        endpoints.MapGet("/v2/health/live", (RequestDelegate)metadata.LiveAsync);
        endpoints.MapGet("/v2/health/ready", (RequestDelegate)metadata.ReadyAsync);
        endpoints.MapGet("/v2", (RequestDelegate)metadata.ServerMetadataAsync);

        foreach (var prefix in (string[])["/v2/models/{model}", "/v2/models/{model}/versions/{version}"])
        {
            endpoints.MapGet(prefix, (RequestDelegate)metadata.ModelMetadataAsync);
            endpoints.MapGet(prefix + "/ready", (RequestDelegate)metadata.ModelReadyAsync);
            endpoints.MapGet(prefix + "/config", (RequestDelegate)metadata.ModelConfigAsync);
            endpoints.MapPost(prefix + "/infer", (RequestDelegate)infer.HandleAsync);
        }

        endpoints.MapPost("/v2/repository/index", (RequestDelegate)repository.IndexAsync);
        endpoints.MapPost("/v2/repository/models/{model}/load", (RequestDelegate)repository.LoadAsync);
        endpoints.MapPost("/v2/repository/models/{model}/unload", (RequestDelegate)repository.UnloadAsync);

        endpoints.MapPost("/v1/models/{model}:predict", (RequestDelegate)v1.PredictAsync);
        // Not in KServe V1 (which has no versions): the gateway pins a deployment's version with it.
        endpoints.MapPost("/v1/models/{model}/versions/{version}:predict", (RequestDelegate)v1.PredictAsync);
        endpoints.MapGet("/v1/models/{model}", (RequestDelegate)v1.StatusAsync);
        return endpoints;
    }
}

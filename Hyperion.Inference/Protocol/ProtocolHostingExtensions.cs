using Hyperion.Inference.Protocol.Grpc;
using Hyperion.Inference.Protocol.Rest;

namespace Hyperion.Inference.Protocol;

/// <summary>Registers and maps the protocol front ends: OIP REST (+ binary extension, repository extension, KServe V1) and gRPC.</summary>
public static class ProtocolHostingExtensions
{
    public static WebApplicationBuilder AddInferenceProtocols(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<InferenceProtocolOptions, InferenceProtocolOptionsValidator>(builder.Configuration, InferenceProtocolOptions.SectionName);
        // Kestrel's listeners and limits are fixed before the host is built: the same binding and checks, read now.
        var options = builder.Configuration.GetValidatedOptions<InferenceProtocolOptions, InferenceProtocolOptionsValidator>(InferenceProtocolOptions.SectionName);
        KestrelListeners.Configure(builder, options);

        builder.Services.AddSingleton<RejectedRequests>();
        builder.Services.AddSingleton<MetadataHandlers>();
        builder.Services.AddSingleton<InferHandler>();
        builder.Services.AddSingleton<RepositoryHandlers>();
        builder.Services.AddSingleton<V1PredictHandler>();
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = (int)Math.Min(options.MaxRequestBodyBytes, int.MaxValue);
            grpc.MaxSendMessageSize = null;
        });
        return builder;
    }

    public static WebApplication MapInferenceProtocols(this WebApplication app)
    {
        app.MapOipRest();
        app.MapGrpcService<GrpcInferenceService>();
        return app;
    }
}

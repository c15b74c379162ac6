using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Hyperion.Inference.Protocol.Grpc;
using Hyperion.Inference.Protocol.Rest;

namespace Hyperion.Inference.Protocol;

/// <summary>Registers and maps the protocol front ends: OIP REST (+ binary extension, repository extension, KServe V1) and gRPC.</summary>
public static class ProtocolHostingExtensions
{
    public static WebApplicationBuilder AddInferenceProtocols(this WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(InferenceProtocolOptions.SectionName);
        builder.Services.AddOptions<InferenceProtocolOptions>()
            .Bind(section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Kestrel's listeners and limits are fixed before the host starts, so read and check the settings here too.
        var options = section.Get<InferenceProtocolOptions>() ?? new InferenceProtocolOptions();
        var failures = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), failures, validateAllProperties: true))
        {
            throw new OptionsValidationException(
                InferenceProtocolOptions.SectionName, typeof(InferenceProtocolOptions), failures.ConvertAll(failure => failure.ErrorMessage ?? "invalid"));
        }
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

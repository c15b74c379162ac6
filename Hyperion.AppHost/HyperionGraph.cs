using Hyperion.AppHost.Hosting;
using Microsoft.Extensions.Configuration;

namespace Hyperion.AppHost;

/// <summary>
/// The Hyperion graph. Program.cs runs it, the test host builds it: one declaration, so tests run
/// what users run.
/// </summary>
public static class HyperionGraph
{
    public static void Declare(IDistributedApplicationBuilder builder)
    {
        var options = new HyperionGraphOptions();
        builder.Configuration.GetSection(HyperionGraphOptions.SectionName).Bind(options);
        DistributedApplicationBuilder.Validate(options, HyperionGraphOptions.SectionName);
        var adminKeyPath = Path.Combine(builder.Context.StateDirectory, "admin-key");

        var cache = builder.AddRedis("cache");

        var pg = builder.AddPostgres("pg");
        var db = pg.AddDatabase("hyperion");

        var orchestrator = builder.AddProject<Projects.Hyperion_Orchestrator>("orchestrator")
            .WithReference(db)
            .WithReference(cache)
            .WaitFor(db)
            .WaitFor(cache)
            .WithEnvironment("Orchestrator__AdminKeyPath", adminKeyPath)
            .WithEnvironment("Orchestrator__ArtifactsPath", Path.Combine(builder.Context.StateDirectory, "artifacts"));

        var inference = builder.AddProject<Projects.Hyperion_Inference>("inference")
            .WithReplicas(options.InferenceReplicas)
            .WithHttpEndpoint(name: "grpc") // h2c: OIP's gRPC service on its own port
            .WithEndpoint("grpc", endpoint => endpoint.Transport = "http2")
            .WithReference(orchestrator)
            .WaitFor(orchestrator)
            .WithEnvironment(context =>
            {
                context.EnvironmentVariables["Inference__GrpcUrl"] = context.GetEndpointUrl("grpc");
                if (context.IsPublishMode)
                {
                    // A pod has a model repository of its own (an emptyDir); its replica id defaults to the pod name.
                    context.EnvironmentVariables["Inference__ModelRepository"] = Path.Combine(context.StateDirectory, "models");
                    return;
                }
                var models = Path.Combine(context.StateDirectory, "inference", context.ReplicaIndex.ToString(System.Globalization.CultureInfo.InvariantCulture), "models");
                Directory.CreateDirectory(models);
                context.EnvironmentVariables["Inference__ModelRepository"] = models;
                context.EnvironmentVariables["Inference__ReplicaId"] = $"inference-{context.ReplicaIndex}";
            });

        // The control plane tracks which replicas serve which model version.
        orchestrator.WithReference(inference);

        builder.AddProject<Projects.Hyperion_Gateway>("gateway")
            .WithReplicas(options.GatewayReplicas)
            .WithEndpoint("http", endpoint => endpoint.Port = options.GatewayPort)
            .WithHttpEndpoint(name: "grpc") // h2c: OIP's gRPC service through the gateway, on its own port
            .WithExternalHttpEndpoints()
            .WithEnvironment(context => context.EnvironmentVariables["Gateway__GrpcUrl"] = context.GetEndpointUrl("grpc"))
            .WithReference(inference)
            .WithReference(orchestrator)
            .WithReference(cache)
            .WaitFor(cache)
            .WaitFor(orchestrator)
            .WaitFor(inference);

        builder.AddStartupNote("Admin key", $"{adminKeyPath} (written by the orchestrator)");
        if (options.DeploySample)
        {
            Samples.SampleModelDeployment.Declare(builder, adminKeyPath);
        }
    }
}

using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Hyperion.AppHost.LocalServices;
using Hyperion.AppHost.Publishing;
using Hyperion.AppHost.Replicas;
using Hyperion.AppHost.Samples;
using Hyperion.AppHost.Supervision;
using Microsoft.Extensions.DependencyInjection;

namespace Hyperion.AppHost;

/// <summary>
/// The Hyperion graph. Program.cs runs and publishes it, Aspire.Hosting.Testing starts it for the tests: one
/// declaration, so tests run what users run.
/// </summary>
public static class HyperionGraph
{
    public static void Declare(IDistributedApplicationBuilder builder)
    {
        var options = HyperionGraphOptions.Bind(builder.Configuration);
        var publishing = builder.ExecutionContext.IsPublishMode;
        var state = publishing ? ContainerPaths.State : Path.GetFullPath(options.StateDirectory);
        var adminKeyPath = Path.Combine(state, "admin-key");
        builder.Services.AddOptions<SupervisionOptions>().BindConfiguration(SupervisionOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<CrashRestarter>();
        builder.Services.AddHostedService(services => services.GetRequiredService<CrashRestarter>());

        // Backing services: the machine's redis-server and PostgreSQL when run (no container engine here),
        // Aspire's containers of the same major versions when published.
        IResourceBuilder<IResourceWithConnectionString> cache;
        IResourceBuilder<IResourceWithConnectionString> database;
        if (publishing)
        {
            cache = builder.AddRedis("cache").WithImageTag("7.4").WithDataVolume("cache-data");
            database = builder.AddPostgres("pg").WithImageTag("15").WithDataVolume("pg-data").AddDatabase("hyperion");
        }
        else
        {
            var local = new LocalServiceContext(state);
            cache = builder.AddLocalRedis("cache", local).WithAnnotation(new RestartOnCrashAnnotation());
            database = builder.AddLocalPostgres("pg", local).WithAnnotation(new RestartOnCrashAnnotation()).AddDatabase("hyperion");
            MissingPrerequisites.ThrowIfAny(local.Missing);
        }

        // The control plane.
        var orchestrator = ReplicaSet.Add<Projects.Hyperion_Orchestrator>(builder, "orchestrator", 1).Replicas[0]
            .WithReference(database)
            .WithReference(cache)
            .WaitFor(database)
            .WaitFor(cache)
            .WithEnvironment("Orchestrator__AdminKeyPath", adminKeyPath)
            .WithEnvironment("Orchestrator__ArtifactsPath", Path.Combine(state, "artifacts"));

        // The data plane: replicas the orchestrator and the gateway address one by one.
        var inference = ReplicaSet.Add<Projects.Hyperion_Inference>(builder, "inference", options.InferenceReplicas, extraHttpEndpoints: "grpc")
            .Configure((replica, index) =>
            {
                replica.WithReference(orchestrator)
                    .WaitFor(orchestrator)
                    .WithEnvironment("Inference__GrpcUrl", replica.GetEndpoint("grpc"));
                if (publishing)
                {
                    // A pod has a model repository of its own (an emptyDir); its replica id defaults to the pod name.
                    replica.WithEnvironment("Inference__ModelRepository", Path.Combine(state, "models"));
                    return;
                }
                var models = Path.Combine(state, "inference", index.ToString(System.Globalization.CultureInfo.InvariantCulture), "models");
                Directory.CreateDirectory(models);
                replica.WithEnvironment("Inference__ModelRepository", models)
                    .WithEnvironment("Inference__ReplicaId", replica.Resource.Name);
            });
        inference.PassTo(orchestrator, "http", "grpc");

        // The public door.
        var gateway = ReplicaSet.Add<Projects.Hyperion_Gateway>(builder, "gateway", options.GatewayReplicas, options.GatewayPort is > 0 ? options.GatewayPort : null, "grpc")
            .Configure((replica, _) =>
            {
                replica.WithExternalHttpEndpoints()
                    .WithEnvironment("Gateway__GrpcUrl", replica.GetEndpoint("grpc"))
                    .WithReference(orchestrator)
                    .WithReference(cache)
                    .WaitFor(cache)
                    .WaitFor(orchestrator);
                inference.PassTo(replica, "http", "grpc");
                inference.AwaitedBy(replica);
            });
        // Batch jobs over a pipeline send their lines through the gateways, which run pipelines.
        gateway.PassTo(orchestrator, "http");

        if (!publishing)
        {
            foreach (var project in new[] { orchestrator }.Concat(inference.Replicas).Concat(gateway.Replicas))
            {
                project.WithHttpHealthCheck("/health")
                    .WithAnnotation(new RestartOnCrashAnnotation())
                    // Aspire asks a Development graph to record every trace; the services' own head sampling
                    // (OTEL_TRACES_SAMPLER_ARG, 10 % by default) keeps the request path fast while the dashboard still sees traces.
                    .WithEnvironment(context => context.EnvironmentVariables.Remove("OTEL_TRACES_SAMPLER"));
            }
            OperatorCommands.Add(builder, orchestrator, gateway.Replicas[0], adminKeyPath, options.DeploySample);
        }
    }
}

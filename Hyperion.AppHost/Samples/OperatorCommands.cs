#pragma warning disable ASPIREINTERACTION001 // the dashboard's input prompt is experimental in Aspire 13.6

using System.Net.Http.Headers;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hyperion.AppHost.Samples;

/// <summary>
/// Buttons on the orchestrator's row of the dashboard for what an operator does by hand today (deploy the sample,
/// roll a model back), and the sample's deployment once the graph is healthy when <c>Hyperion:DeploySample</c> is on.
/// </summary>
internal static class OperatorCommands
{
    public const string DeploySampleCommand = "hyperion-deploy-sample";
    public const string RollbackCommand = "hyperion-rollback";

    public static void Add(IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> orchestrator, IResourceBuilder<ProjectResource> gateway, string adminKeyPath, bool deployOnStart)
    {
        var repositoryRoot = Path.GetDirectoryName(Path.GetDirectoryName(new Projects.Hyperion_Orchestrator().ProjectPath))!;
        var orchestratorUrl = orchestrator.GetEndpoint("http");
        var gatewayUrl = gateway.GetEndpoint("http");
        async Task<string> ReadAdminKeyAsync(CancellationToken cancellationToken) => (await File.ReadAllTextAsync(adminKeyPath, cancellationToken)).Trim();

        async Task DeploySampleAsync(IServiceProvider services, CancellationToken cancellationToken)
        {
            // On the AppHost's console (what `./build.sh run` shows) and in the orchestrator's log on the dashboard.
            ILogger[] loggers =
            [
                services.GetRequiredService<ILoggerFactory>().CreateLogger("Hyperion.AppHost.Samples"),
                services.GetRequiredService<ResourceLoggerService>().GetLogger(orchestrator.Resource),
            ];
            void Report(string message)
            {
                foreach (var logger in loggers)
                {
                    logger.LogInformation("{Message}", message);
                }
            }
            var key = await ReadAdminKeyAsync(cancellationToken);
            Report($"Deploying the sample model '{SampleModelDeployment.ModelName}' ...");
            await new SampleModelDeployment(repositoryRoot, Report)
                .DeployAsync(new Uri(orchestratorUrl.Url), key, new Uri(gatewayUrl.Url), cancellationToken);
        }

        orchestrator.WithCommand(DeploySampleCommand, "Deploy the sample model", async context =>
        {
            try
            {
                await DeploySampleAsync(context.Services, context.CancellationToken);
                return CommandResults.Success();
            }
            catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TimeoutException or IOException)
            {
                return CommandResults.Failure(ex.Message);
            }
        }, new CommandOptions
        {
            Description = "Registers and deploys the digits classifier the repository ships (idempotent).",
            IconName = "BoxArrowUp",
            UpdateState = RunningOnly,
        });

        orchestrator.WithCommand(RollbackCommand, "Roll a model back", async context =>
        {
            var interaction = context.Services.GetRequiredService<IInteractionService>();
            if (!interaction.IsAvailable)
            {
                return CommandResults.Failure("the dashboard is needed to ask which model; call POST /api/v1/deployments/{model}/rollback instead");
            }
            var answer = await interaction.PromptInputAsync("Roll a model back", "Sends all traffic back to the stable version and ends the canary.",
                "Model", "digits", cancellationToken: context.CancellationToken);
            if (answer.Canceled || answer.Data?.Value is not { Length: > 0 } model)
            {
                return CommandResults.Canceled();
            }
            using var client = new HttpClient { BaseAddress = new Uri(orchestratorUrl.Url), Timeout = TimeSpan.FromSeconds(30) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await ReadAdminKeyAsync(context.CancellationToken));
            using var response = await client.PostAsync($"/api/v1/deployments/{Uri.EscapeDataString(model)}/rollback", content: null, context.CancellationToken);
            return response.IsSuccessStatusCode
                ? CommandResults.Success()
                : CommandResults.Failure($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(context.CancellationToken)}");
        }, new CommandOptions
        {
            Description = "Sends all of a model's traffic back to its stable version (POST /api/v1/deployments/{model}/rollback).",
            IconName = "ArrowUndo",
            UpdateState = RunningOnly,
        });

        // The gateway starts last (it waits for every other service), so its first ready means the graph is up.
        var deployed = 0;
        async Task DeployInBackgroundAsync(IServiceProvider services)
        {
            await Task.Yield();
            try
            {
                await DeploySampleAsync(services, services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                services.GetRequiredService<ILoggerFactory>().CreateLogger("Hyperion.AppHost.Samples")
                    .LogError(ex, "The sample model could not be deployed; deploy it from the dashboard (orchestrator, Deploy the sample model) once the cause is fixed");
            }
        }
        builder.Eventing.Subscribe<ResourceReadyEvent>(gateway.Resource, (@event, cancellationToken) =>
        {
            if (Interlocked.Exchange(ref deployed, 1) == 0)
            {
                @event.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Hyperion.AppHost").LogInformation(
                    "Hyperion is running: gateway {Gateway}, admin key {AdminKey} (send it as Authorization: Bearer <key>)",
                    gatewayUrl.Url, adminKeyPath);
                if (deployOnStart)
                {
                    _ = DeployInBackgroundAsync(@event.Services);
                }
            }
            return Task.CompletedTask;
        });
    }

    private static ResourceCommandState RunningOnly(UpdateCommandStateContext context) =>
        context.ResourceSnapshot.State?.Text == KnownResourceStates.Running ? ResourceCommandState.Enabled : ResourceCommandState.Disabled;
}

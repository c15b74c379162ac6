using Hyperion.Orchestrator.Api;
using Hyperion.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Hyperion.Tests.ControlPlane;

/// <summary>The orchestrator's sections as AddControlPlaneApi registers them: every bad setting stops the start, each named by its path.</summary>
public sealed class OrchestratorOptionsTests
{
    [Fact]
    public void Several_bad_settings_in_several_sections_stop_the_start_naming_every_one()
    {
        using var host = Build(new()
        {
            ["Orchestrator:MaxArtifactBytes"] = "0",
            ["Orchestrator:ReplicaTtlSeconds"] = "1",
            ["Orchestrator:Jwt:SigningKey"] = "too-short",
            ["Orchestrator:Registry:OrphanGraceSeconds"] = "0",
            ["Orchestrator:Rollouts:TickSeconds"] = "0",
        });

        // What StartAsync runs first (starting would also run the migrations and reach the database).
        var error = Assert.ThrowsAny<Exception>(() => host.Services.GetRequiredService<IStartupValidator>().Validate());

        // One OptionsValidationException per section, each with every failure of its section.
        var failures = (error is AggregateException all ? all.InnerExceptions : [error])
            .Select(inner => Assert.IsType<OptionsValidationException>(inner))
            .SelectMany(inner => inner.Failures)
            .ToList();
        Assert.Equal(
            [
                "Orchestrator:Jwt:Audience is required when JWTs are accepted (the 'aud' tokens must carry)",
                "Orchestrator:Jwt:Issuer is required with a SigningKey (the 'iss' tokens must carry)",
                "Orchestrator:Jwt:SigningKey must be at least 32 bytes (HS256)",
                "Orchestrator:MaxArtifactBytes must be at least 1, got 0.",
                "Orchestrator:Registry:OrphanGraceSeconds must be at least 1, got 0.",
                "Orchestrator:ReplicaTtlSeconds (1) must be longer than ReplicaHeartbeatIntervalSeconds (2), or live replicas would be dropped between heartbeats.",
                "Orchestrator:Rollouts:TickSeconds must be between 0.1 and 60, got 0.",
            ],
            failures.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Good_settings_pass_the_start_up_checks()
    {
        using var host = Build(new() { ["Orchestrator:Jwt:SigningKey"] = new string('k', 32), ["Orchestrator:Jwt:Issuer"] = "https://issuer.example", ["Orchestrator:Jwt:Audience"] = "hyperion" });

        host.Services.GetRequiredService<IStartupValidator>().Validate();
    }

    /// <summary>The control plane's registration with these settings; nothing is started: the tests run the start-up checks themselves.</summary>
    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = ServiceBuilders.Orchestrator(settings);
        builder.AddControlPlaneApi();
        return builder.Build();
    }
}

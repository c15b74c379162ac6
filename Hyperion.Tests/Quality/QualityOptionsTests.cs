using Hyperion.Orchestrator.Api;
using Hyperion.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Hyperion.Tests.Quality;

/// <summary><c>Orchestrator:Quality</c> as the control plane registers it: every bad setting stops the start, named by its path.</summary>
public sealed class QualityOptionsTests
{
    [Fact]
    public void Bad_quality_settings_stop_the_start_naming_every_one()
    {
        using var host = Build(new()
        {
            ["Orchestrator:Quality:DriftIntervalSeconds"] = "0",
            ["Orchestrator:Quality:QualityWindowHours"] = "0",
            ["Orchestrator:Quality:MinLabelledRows"] = "0",
            ["Orchestrator:Quality:MaxAccuracyDrop"] = "1.5",
        });

        var error = Assert.ThrowsAny<OptionsValidationException>(() => host.Services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Equal(
            [
                "Orchestrator:Quality:DriftIntervalSeconds must be between 1 and 86400, got 0.",
                "Orchestrator:Quality:MaxAccuracyDrop must be between 0 and 1, got 1.5.",
                "Orchestrator:Quality:MinLabelledRows must be at least 1, got 0.",
                "Orchestrator:Quality:QualityWindowHours must be between 0.01 and 8784, got 0.",
            ],
            error.Failures.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_defaults_pass_the_start_up_checks()
    {
        using var host = Build([]);
        host.Services.GetRequiredService<IStartupValidator>().Validate();
        var options = host.Services.GetRequiredService<IOptions<Hyperion.Orchestrator.Quality.QualityOptions>>().Value;
        Assert.Equal(300, options.DriftIntervalSeconds);
        Assert.Equal(0.05, options.MaxAccuracyDrop);
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = ServiceBuilders.Orchestrator(settings);
        builder.AddControlPlaneApi();
        return builder.Build();
    }
}

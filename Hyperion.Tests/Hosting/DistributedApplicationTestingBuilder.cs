using Hyperion.AppHost;
using Hyperion.AppHost.Hosting;
using Microsoft.Extensions.Logging;

namespace Hyperion.Tests.Hosting;

/// <summary>
/// Builders for tests, the role of Aspire.Hosting.Testing: a given state directory, free ports, no
/// dashboard, resources' output kept in their logs rather than on the console.
/// </summary>
public static class DistributedApplicationTestingBuilder
{
    /// <summary>The Hyperion graph exactly as the AppHost declares it.</summary>
    public static IDistributedApplicationBuilder CreateHyperion(string stateDirectory, ILoggerProvider? appHostLog = null, IDictionary<string, string?>? settings = null)
    {
        var builder = Create(stateDirectory, appHostLog, settings);
        HyperionGraph.Declare(builder);
        return builder;
    }

    /// <summary>An empty graph, for tests that declare their own resources.</summary>
    public static IDistributedApplicationBuilder Create(string stateDirectory, ILoggerProvider? appHostLog = null, IDictionary<string, string?>? settings = null)
    {
        var merged = new Dictionary<string, string?>
        {
            ["AppHost:StateDirectory"] = stateDirectory,
            ["AppHost:DashboardUrl"] = "",
            ["AppHost:EchoResourceOutput"] = "false",
            ["AppHost:RestartBackoffMaxSeconds"] = "2",
            ["Hyperion:GatewayPort"] = "0",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }
        var loggerFactory = LoggerFactory.Create(logging =>
        {
            if (appHostLog is not null)
            {
                logging.AddProvider(appHostLog);
            }
        });
        return DistributedApplication.CreateBuilder(new DistributedApplicationOptions { Settings = merged, LoggerFactory = loggerFactory });
    }
}

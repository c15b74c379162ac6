using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hyperion.Tests.TestSupport;

/// <summary>Builders for composing a service's registrations in-process, with given settings, to test what they register and check.</summary>
internal static class ServiceBuilders
{
    /// <summary>A web app on a test server, in Production, without logs; inline I/O off (it would change this process's sockets).</summary>
    public static WebApplicationBuilder Web(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Gateway:InlineIo"] = "false", ["Inference:InlineIo"] = "false" });
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    /// <summary>A generic host for the orchestrator's registrations: metrics, and a database that is never reached (port 1) unless the host runs.</summary>
    public static HostApplicationBuilder Orchestrator(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Services.AddMetrics();
        builder.Services.AddSingleton(NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Username=none;Timeout=1"));
        return builder;
    }
}

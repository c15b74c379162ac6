using System.Globalization;
using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hyperion.Benchmarks.Hosting;

/// <summary>
/// The orchestrator as a gateway under test sees it: <c>GET /internal/v1/routing</c> answers a fixed routing table in
/// which each named model is deployed at version 1 on the one inference server, monitored with the given capture
/// percent. Lets a run compare the gateway routing by a deployment with and without capture, nothing else different.
/// </summary>
public static class RoutingStandIn
{
    public const string Command = "routing";

    /// <param name="args"><c>--urls URL --inference URL --capture-percent P MODEL...</c></param>
    public static async Task RunAsync(string[] args)
    {
        string? inference = null;
        var capturePercent = 0.0;
        var models = new List<string>();
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--inference": inference = args[++i]; break;
                case "--capture-percent": capturePercent = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--urls": rest.Add(args[i]); rest.Add(args[++i]); break;
                default: models.Add(args[i]); break;
            }
        }
        var table = new RoutingTable(
            [new ReplicaEndpoint("bench", "cpu", inference ?? throw new ArgumentException("--inference URL is required"), null)],
            [.. models.Select(model => new ModelRoute(model, Revision: 1, Stable: 1, Canary: null, Shadow: null, new CachePolicy(false, 0),
                [new VersionReplicas(1, ["bench"])], CapturePercent: capturePercent))]);
        var json = JsonSerializer.SerializeToUtf8Bytes(table, ControlPlaneJson.Options);

        var builder = WebApplication.CreateSlimBuilder([.. rest]);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/ready", () => Results.Ok());
        app.MapGet(ControlPlaneRoutes.Routing, () => Results.Bytes(json, "application/json"));
        await app.RunAsync();
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hyperion.Benchmarks.Hosting;

/// <summary>
/// Where the servers' telemetry goes in a <c>--telemetry</c> run: accepts OTLP over HTTP (traces, metrics, logs), reads
/// each export whole and answers 200, as the Aspire dashboard does under the AppHost, so the rows measure what
/// exporting costs the services, not what the receiver does with it.
/// </summary>
public static class OtlpSink
{
    public const string Command = "otlp-sink";

    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/ready", () => Results.Ok());
        app.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            return Results.Ok();
        });
        await app.RunAsync();
    }
}

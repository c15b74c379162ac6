using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hyperion.AppHost.Hosting;

/// <summary>
/// A small web page inside the AppHost (the part of Aspire's dashboard a laptop needs): every
/// resource's state, pid, restarts, URLs and last exit code, and its recent output.
/// JSON under /api/resources, HTML at / that refreshes itself.
/// </summary>
internal sealed class DashboardServer(DistributedApplication application, string url) : IAsyncDisposable
{
    private WebApplication? _app;

    public Uri? Url { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Hyperion.Dashboard" });
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        // The AppHost handles Ctrl+C itself: it must stop resources before the dashboard goes away.
        builder.Services.AddSingleton<IHostLifetime, NoSignalsLifetime>();
        _app = builder.Build();

        _app.MapGet("/", () => Results.Content(DashboardPage.Html, "text/html; charset=utf-8"));
        _app.MapGet("/api/resources", () => Results.Json(application.ResourceNotifications.GetSnapshots().Select(ToJson)));
        _app.MapGet("/api/resources/{name}/logs", (string name, int? lines) =>
        {
            try
            {
                var tail = application.GetLog(name).Tail(Math.Clamp(lines ?? 200, 1, 500));
                return Results.Json(tail.Select(l => new { timestamp = l.Timestamp, stream = l.IsError ? "stderr" : "stdout", text = l.Text }));
            }
            catch (KeyNotFoundException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound);
            }
        });
        _app.MapGet("/resources/{name}/logs", (string name) => Results.Content(DashboardPage.LogsHtml(name), "text/html; charset=utf-8"));

        await _app.StartAsync(cancellationToken);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Url = new Uri(address);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private static object ToJson(ResourceSnapshot s) => new
    {
        name = s.Name,
        resource = s.Resource,
        type = s.Type,
        state = s.State.ToString(),
        pid = s.Pid,
        restarts = s.Restarts,
        last_exit_code = s.LastExitCode,
        started_at = s.StartedAt,
        urls = s.Urls,
        message = s.Message,
    };

    private sealed class NoSignalsLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

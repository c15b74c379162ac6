using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hyperion.Tests.ControlPlane;

/// <summary>
/// A real HTTP server (Kestrel on loopback) that receives webhooks the way a user's would: it records every request
/// (path, headers, exact body bytes) and answers each path with the statuses a test queued, then with the path's
/// default (200 unless set). It can be stopped and started again on the same port to play a receiver that is down.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<int>> _queued = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _defaults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TimeSpan> _delays = new(StringComparer.Ordinal);
    private WebApplication? _app;

    private WebhookReceiver(int port)
    {
        Port = port;
    }

    /// <summary>Kept across <see cref="StopAsync"/> and <see cref="StartAgainAsync"/>.</summary>
    public int Port { get; private set; }

    public bool IsRunning => _app is not null;

    public IReadOnlyList<ReceivedWebhook> Received => [.. _received];

    public string UrlOf(string path) => $"http://127.0.0.1:{Port}{path}";

    /// <summary>A receiver listening on a port the kernel picks.</summary>
    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver(0);
        await receiver.StartAgainAsync();
        return receiver;
    }

    /// <summary>A receiver whose port is chosen but which does not listen yet: connections are refused until <see cref="StartAgainAsync"/>.</summary>
    public static WebhookReceiver Reserve()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return new WebhookReceiver(((IPEndPoint)probe.LocalEndPoint!).Port);
    }

    /// <summary>The next answers on <paramref name="path"/>, one per request, before its default applies again.</summary>
    public void Answer(string path, params int[] statuses)
    {
        var queue = _queued.GetOrAdd(path, _ => new ConcurrentQueue<int>());
        foreach (var status in statuses)
        {
            queue.Enqueue(status);
        }
    }

    public void AnswerByDefault(string path, int status) => _defaults[path] = status;

    /// <summary>Every answer on <paramref name="path"/> comes after <paramref name="delay"/> (the request is recorded at once).</summary>
    public void DelayAnswers(string path, TimeSpan delay) => _delays[path] = delay;

    public IReadOnlyList<ReceivedWebhook> ReceivedOn(string path) => [.. _received.Where(r => r.Path == path)];

    /// <summary>Waits until <paramref name="predicate"/> holds for the requests received so far.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForAsync(Func<IReadOnlyList<ReceivedWebhook>, bool> predicate, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var received = Received;
            if (predicate(received))
            {
                return received;
            }
            if (DateTime.UtcNow > deadline)
            {
                var seen = string.Join(Environment.NewLine, received.Select(r => $"  {r.At:O} {r.Path} -> {r.AnsweredWith} event={r.EventId} delivery={r.Header("X-Hyperion-Delivery")}"));
                throw new TimeoutException($"The webhook receiver did not see {what} within {timeout.TotalSeconds:0} s. It received:{Environment.NewLine}{seen}");
            }
            await Task.Delay(50);
        }
    }

    public async Task StartAgainAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, Port));
        var app = builder.Build();
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var path = context.Request.Path.Value ?? "/";
            var status = _queued.TryGetValue(path, out var queue) && queue.TryDequeue(out var next) ? next : _defaults.GetValueOrDefault(path, StatusCodes.Status200OK);
            _received.Enqueue(new ReceivedWebhook(
                path,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body.ToArray(),
                DateTime.UtcNow,
                status));
            if (_delays.TryGetValue(path, out var delay))
            {
                await Task.Delay(delay, context.RequestAborted);
            }
            context.Response.StatusCode = status;
            if (status >= 400)
            {
                await context.Response.WriteAsync("boom: the test receiver was told to fail");
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Port = new Uri(address).Port;
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}

/// <summary>One request as the receiver got it.</summary>
public sealed record ReceivedWebhook(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, DateTime At, int AnsweredWith)
{
    public string? Header(string name) => Headers.GetValueOrDefault(name);

    public string? EventId => Header("X-Hyperion-Event-Id");
}

using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway;
using Hyperion.Gateway.Auth;
using Hyperion.Gateway.Capturing;
using Hyperion.Gateway.RateLimiting;
using Hyperion.Gateway.Routing;
using Hyperion.Gateway.Shadowing;
using Hyperion.Gateway.Statistics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hyperion.Tests.Gateway.Stages;

/// <summary>
/// Builds one proxy stage as <c>UseMiddleware</c> does, from the gateway's own services held in memory: nothing is
/// started, the orchestrator is never asked (routing tables are installed, JWTs found in the token cache) and Redis
/// is a client that cannot connect (the degraded paths).
/// </summary>
internal sealed class StageHost : IDisposable
{
    private readonly ServiceProvider _services;

    public StageHost(Action<GatewayOptions>? configure = null)
    {
        var options = new GatewayOptions();
        configure?.Invoke(options);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton(Options.Create(options));
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton(_ => new ControlPlaneClient(new HttpClient { BaseAddress = new Uri("http://orchestrator.invalid") }));
        services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(new ConfigurationOptions
        {
            EndPoints = { "127.0.0.1:1" },
            AbortOnConnectFail = false,
            ConnectTimeout = 100,
        }));
        services.AddSingleton<ApiKeyCache>();
        services.AddSingleton<ValidatedTokenCache>();
        services.AddSingleton<RoutingTableCache>();
        services.AddSingleton<RedisTokenBuckets>();
        services.AddSingleton<TokenLeases>();
        services.AddSingleton<ArmStatistics>();
        services.AddSingleton<CaptureWriter>();
        services.AddSingleton<ShadowDispatcher>();
        _services = services.BuildServiceProvider();
    }

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    /// <summary><typeparamref name="TStage"/> as <c>UseMiddleware</c> builds it, followed by <paramref name="next"/>.</summary>
    public RequestDelegate Build<TStage>(RequestDelegate next)
    {
        var app = new ApplicationBuilder(_services);
        app.UseMiddleware<TStage>();
        app.Run(next);
        return app.Build();
    }

    /// <summary>Runs <typeparamref name="TStage"/> once; the next stage it returns counts whether it was reached.</summary>
    public async Task<NextStage> RunAsync<TStage>(HttpContext context, Func<HttpContext, Task>? next = null)
    {
        var after = new NextStage(next);
        await Build<TStage>(after)(context);
        return after;
    }

    /// <summary>What <typeparamref name="TStage"/> says when a result it needs was not set.</summary>
    public async Task<string> MissingResultAsync<TStage>(HttpContext context) =>
        (await Assert.ThrowsAsync<InvalidOperationException>(() => Build<TStage>(new NextStage())(context))).Message;

    public void Dispose() => _services.Dispose();

    public static DefaultHttpContext Request(string method, string path)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Response.Body = new MemoryStream();
        return context;
    }

    /// <summary>A request as <see cref="ClassificationStage"/> leaves it: classified by its path.</summary>
    public static DefaultHttpContext Classified(string method, string path)
    {
        var context = Request(method, path);
        context.Features.Set(RequestClassifier.Classify(context.Request));
        return context;
    }

    /// <summary>Replicas r1 (<c>http://10.0.0.1:8000</c>) and r2 (<c>http://10.0.0.2:8000</c>), with one model's route.</summary>
    public static RoutingTable Table(ModelRoute route) =>
        new([new("r1", "cpu", "http://10.0.0.1:8000", "http://10.0.0.1:8001"), new("r2", "cpu", "http://10.0.0.2:8000", "http://10.0.0.2:8001")], [route]);

    /// <summary>The route as the traffic policy reads it.</summary>
    public static ModelPolicy Policy(ModelRoute route) => RoutingSnapshot.From(Table(route)).Find(route.Model)!;

    public static string ResponseText(HttpContext context)
    {
        context.Response.Body.Position = 0;
        return new StreamReader(context.Response.Body).ReadToEnd();
    }
}

/// <summary>The stage after the one under test: counts its calls and does what the test asks.</summary>
internal sealed class NextStage(Func<HttpContext, Task>? action = null)
{
    public int Calls { get; private set; }

    public Task InvokeAsync(HttpContext context)
    {
        Calls++;
        return action?.Invoke(context) ?? Task.CompletedTask;
    }

    public static implicit operator RequestDelegate(NextStage next) => next.InvokeAsync;
}

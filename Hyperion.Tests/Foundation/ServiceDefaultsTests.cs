using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;

namespace Hyperion.Tests.Foundation;

/// <summary>
/// AddServiceDefaults with Aspire's client integrations, as the services compose them, built in-process (nothing is
/// started or connected): which spans the one TracerProvider records, and what stops start-up.
/// </summary>
[Collection(ServiceDefaultsCollection.Name)]
public sealed class ServiceDefaultsTests
{
    // The sources the client integrations register, and ASP.NET Core's (a request arriving at a service).
    private static readonly string[] Sources = ["OpenTelemetry.Instrumentation.StackExchangeRedis", "Npgsql", "Microsoft.AspNetCore"];

    [Theory]
    [MemberData(nameof(SourceNames))]
    public void By_default_a_callers_sampled_trace_is_recorded_and_an_unsampled_one_is_not(string source)
    {
        using var host = Build(("OTEL_TRACES_SAMPLER_ARG", "0"));

        Assert.True(IsRecorded(source, ActivityTraceFlags.Recorded));
        Assert.False(IsRecorded(source, ActivityTraceFlags.None));
        Assert.False(IsRecorded(source, parentFlags: null)); // a trace the service would start: ratio 0 keeps none
    }

    [Fact]
    public void The_ratio_decides_the_traces_a_service_starts()
    {
        using (Build(("OTEL_TRACES_SAMPLER_ARG", "1")))
        {
            Assert.All(Sources, source => Assert.True(IsRecorded(source, parentFlags: null)));
        }
        using (Build())
        {
            // One in ten by default: of 2000 new traces, far from none and far from all.
            var recorded = Enumerable.Range(0, 2000).Count(_ => IsRecorded("Microsoft.AspNetCore", parentFlags: null));
            Assert.InRange(recorded, 100, 320);
        }
    }

    [Fact]
    public void OTEL_TRACES_SAMPLER_is_the_SDKs_own_setting()
    {
        using var host = Build(("OTEL_TRACES_SAMPLER", "always_off"), ("OTEL_TRACES_SAMPLER_ARG", "1"));

        Assert.All(Sources, source => Assert.False(IsRecorded(source, ActivityTraceFlags.Recorded)));
    }

    [Fact]
    public void Without_an_OTLP_endpoint_nothing_listens_to_the_client_integrations()
    {
        using var host = Build(otlp: false);

        Assert.All(Sources, source => Assert.False(IsRecorded(source, ActivityTraceFlags.Recorded)));
    }

    [Theory]
    [InlineData("OTEL_TRACES_SAMPLER_ARG", "ten percent", "OTEL_TRACES_SAMPLER_ARG is 'ten percent'; expected the share of traces to keep, a number from 0 to 1")]
    [InlineData("OTEL_TRACES_SAMPLER_ARG", "10", "OTEL_TRACES_SAMPLER_ARG is '10'")]
    [InlineData("OTEL_TRACES_SAMPLER", "parentbased_sometimes", "OTEL_TRACES_SAMPLER is 'parentbased_sometimes'; expected one of always_on, always_off, traceidratio")]
    public void A_sampling_setting_the_SDK_would_ignore_stops_start_up(string key, string value, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Build((key, value)));
        Assert.StartsWith(message, error.Message);
    }

    [Theory]
    [InlineData("cache")]
    [InlineData("hyperion")]
    public void A_missing_connection_string_stops_start_up_naming_the_variable(string missing)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Build((missing == "cache" ? "ConnectionStrings:cache" : "ConnectionStrings:hyperion", null)));
        Assert.StartsWith($"ConnectionStrings__{missing} is not set. Run the service through the AppHost, or set ConnectionStrings__{missing}=", error.Message);
    }

    public static TheoryData<string> SourceNames() => [.. Sources];

    /// <summary>Whether a span of <paramref name="source"/> is recorded, under a remote parent with those flags (none: a new trace).</summary>
    private static bool IsRecorded(string source, ActivityTraceFlags? parentFlags)
    {
        using var activitySource = new ActivitySource(source);
        var parent = parentFlags is { } flags
            ? new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), flags, isRemote: true)
            : default;
        using var activity = activitySource.StartActivity("operation", ActivityKind.Server, parent);
        return activity?.Recorded == true;
    }

    /// <summary>A service host composed as the orchestrator's Program.cs composes it, with its TracerProvider built.</summary>
    private static IHost Build(params (string Key, string? Value)[] settings) => Build(otlp: true, settings);

    private static IHost Build(bool otlp, params (string Key, string? Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Production" });
        var configuration = new Dictionary<string, string?>
        {
            ["ConnectionStrings:cache"] = "127.0.0.1:1,password=unused",
            ["ConnectionStrings:hyperion"] = "Host=127.0.0.1;Port=1;Username=postgres;Password=unused;Database=hyperion",
            // Unreachable: the exporter's failures do not concern these tests, only which spans reach it.
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp ? "http://127.0.0.1:1" : null,
        };
        foreach (var (key, value) in settings)
        {
            configuration[key] = value;
        }
        builder.Configuration.AddInMemoryCollection(configuration);

        builder.AddServiceDefaults();
        builder.AddNpgsqlDataSource("hyperion", npgsql =>
        {
            ConnectionStrings.Require(npgsql.ConnectionString, "hyperion", "Host=...");
            npgsql.DisableTracing |= !builder.ExportsTraces();
        });
        builder.AddRedisClient("cache", RedisClientDefaults.Settings(builder, "cache"), RedisClientDefaults.Options());
        // ASP.NET Core's source stands for the requests a service answers (the instrumentation listens to it).
        var host = builder.Build();
        _ = host.Services.GetService<TracerProvider>();
        return host;
    }
}

/// <summary>Activity listeners are process-wide: these tests run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ServiceDefaultsCollection
{
    public const string Name = "ServiceDefaults, alone";
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>Redis down, the orchestrator down, an inference replica killed under load: inference goes on.</summary>
[Collection(GatewayDegradedCollection.Name)]
public sealed class GatewayDegradedModeTests(GatewayDegradedFixture hyperion)
{
    [Fact]
    public async Task Redis_down_inference_is_still_served_limits_fail_open_or_closed_by_config_and_the_cache_is_bypassed()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1, "cache": {"enabled": true, "ttl_seconds": 60}}"""));
        var key = await hyperion.CreateKeyAsync([Scopes.Infer]);
        using var open = hyperion.CreateGatewayClient(key.Key, replica: 0);
        using var closed = hyperion.CreateGatewayClient(key.Key, replica: GatewayDegradedFixture.FailClosedReplica);
        using (var warm = await InferAsync(open, model))
        {
            Assert.True(warm.Headers.Contains("RateLimit-Remaining"));
        }

        await hyperion.StopAsync("cache");
        try
        {
            await WaitUntilAsync(async () =>
            {
                using var response = await InferAsync(open, model);
                return response.StatusCode == HttpStatusCode.OK && !response.Headers.Contains("RateLimit-Remaining");
            }, TimeSpan.FromSeconds(20), "the gateway noticing Redis is gone");
            for (var i = 0; i < 10; i++)
            {
                using var response = await InferAsync(open, model);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("BYPASS", response.Headers.GetValues("X-Cache").Single());
                Assert.Equal("1", VersionOf(response));
            }
            using var refused = await InferAsync(closed, model);
            Assert.Contains("rate limits cannot be checked", await AssertOipErrorAsync(refused, HttpStatusCode.ServiceUnavailable));
            Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());

            var metrics = await hyperion.CreateHttpClient("gateway", replica: 0).GetStringAsync("/metrics");
            Assert.Contains("outcome=\"fail_open\"", metrics);
        }
        finally
        {
            await hyperion.StartAsync("cache");
        }
        await hyperion.WaitForAllHealthyAsync();
        await WaitUntilAsync(async () =>
        {
            using var response = await InferAsync(closed, model);
            return response.StatusCode == HttpStatusCode.OK && response.Headers.Contains("RateLimit-Remaining");
        }, TimeSpan.FromSeconds(30), "limits checked again once Redis is back");
    }

    [Fact]
    public async Task Orchestrator_down_routing_goes_on_with_the_last_policies_and_keys_seen_before()
    {
        var model = await hyperion.DeployIdentityAsync(2, Deployment("""{"stable": 1, "canary": {"version": 2, "percent": 100}}"""));
        var key = await hyperion.CreateKeyAsync([Scopes.InferModel(model)]);
        var unseen = await hyperion.CreateKeyAsync([Scopes.Infer]);
        using var gateway = hyperion.CreateGatewayClient(key.Key);
        await WaitUntilAsync(async () =>
        {
            using var response = await InferAsync(gateway, model);
            return VersionOf(response) == "2";
        }, TimeSpan.FromMinutes(1), "the canary taking all traffic");

        await hyperion.StopAsync("orchestrator");
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(3)); // past the key's 2 s time to live and a routing refresh
            for (var i = 0; i < 10; i++)
            {
                using var response = await InferAsync(gateway, model);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("2", VersionOf(response)); // the last known policy: canary at 100 %
            }
            // A key never seen cannot be checked: 503, not 401 (it may well be valid).
            using var unknown = await InferAsync(hyperion.CreateGatewayClient(unseen.Key), model);
            Assert.Contains("cannot be checked now", await AssertOipErrorAsync(unknown, HttpStatusCode.ServiceUnavailable));
            using var api = await gateway.GetAsync("/api/v1/whoami");
            Assert.True(api.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable, $"{(int)api.StatusCode}");
            Assert.Equal("application/problem+json", api.Content.Headers.ContentType?.MediaType);
        }
        finally
        {
            await hyperion.StartAsync("orchestrator");
        }
        await hyperion.WaitForAllHealthyAsync();
    }

    [Fact]
    public async Task Killing_an_inference_replica_under_load_fails_no_more_than_the_requests_in_flight_on_it()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var admin = hyperion.CreateApiClient();
        await WaitReadyEverywhereAsync(admin, model);
        await Task.Delay(TimeSpan.FromSeconds(3)); // the routing table of the gateway names both replicas

        var key = await hyperion.CreateKeyWithPlanAsync(requestsPerSecond: 1_000_000, burst: 1_000_000);
        var (succeeded, failures, pid, killedAt) = await KillInferenceReplicaUnderLoadAsync(key, gateway => InferAsync(gateway, model));

        Assert.True(succeeded > 100, $"only {succeeded} requests succeeded");
        Assert.True(failures.Count <= Concurrency, $"{failures.Count} failed (at most {Concurrency} can be in flight): {string.Join(" | ", failures.Take(8))}");
        Assert.True(Stopwatch.GetElapsedTime(killedAt) > TimeSpan.FromSeconds(5), "the load went on well past the kill");
        // The dead replica's circuit opened, and requests that could not connect went to the other replica.
        var metrics = await hyperion.CreateHttpClient("gateway").GetStringAsync("/metrics");
        Assert.True(metrics.Split('\n').Any(line => line.StartsWith("hyperion_gateway_circuit_transitions_total", StringComparison.Ordinal) && line.Contains("state=\"open\"", StringComparison.Ordinal)),
            $"the dead replica's circuit did not open; {failures.Count} failed ({string.Join(" | ", failures.Take(8))}); gateway: "
            + string.Join(" | ", metrics.Split('\n').Where(line => line.StartsWith("hyperion_gateway_c", StringComparison.Ordinal) || line.StartsWith("hyperion_gateway_arm_requests_total", StringComparison.Ordinal))));
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("hyperion_gateway_connect_retries_total", StringComparison.Ordinal));
        await hyperion.WaitForAsync("inference-0", s => s.IsHealthy && s.Pid != pid, HyperionAppFixture.StartTimeout, "restarted");
    }

    [Fact]
    public async Task A_replica_killed_under_pipeline_load_fails_only_the_steps_in_flight_on_it_and_its_circuit_opens_for_the_steps()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var admin = hyperion.CreateApiClient();
        await WaitReadyEverywhereAsync(admin, model);
        var pipeline = RegistryTestData.UniqueName("degraded-flow");
        await Pipelines.PipelineTestApi.PutOkAsync(admin, pipeline, $$$"""
            {"steps": [{"name": "neg", "model": "{{{model}}}"}, {"name": "back", "model": "{{{model}}}", "inputs": {"INPUT0": "neg.OUTPUT0"}}]}
            """, HttpStatusCode.Created);
        var key = await hyperion.CreateKeyWithPlanAsync(requestsPerSecond: 1_000_000, burst: 1_000_000);
        const string Request = """{"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""";
        using (var routed = await Pipelines.PipelineTestApi.InferRoutedAsync(hyperion.CreateGatewayClient(key), pipeline, () => Pipelines.PipelineTestApi.Json(Request)))
        {
            Assert.Equal(HttpStatusCode.OK, routed.StatusCode);
        }
        await Task.Delay(TimeSpan.FromSeconds(3)); // the routing table of the gateway names both replicas
        using var scraper = hyperion.CreateHttpClient("gateway");
        var openedBefore = CircuitsOpened(await scraper.GetStringAsync("/metrics"));

        var (succeeded, failures, pid, _) = await KillInferenceReplicaUnderLoadAsync(key,
            gateway => gateway.PostAsync($"/v2/pipelines/{pipeline}/infer", Pipelines.PipelineTestApi.Json(Request)));

        Assert.True(succeeded > 100, $"only {succeeded} pipeline calls succeeded");
        // A call fails only when one of its steps was in flight on the killed replica: one step per call at a time.
        Assert.True(failures.Count <= Concurrency, $"{failures.Count} failed (at most {Concurrency} can be in flight): {string.Join(" | ", failures.Take(8))}");
        // The steps' failed connections opened the dead replica's circuit (only pipeline calls ran), so later steps skip it.
        Assert.True(CircuitsOpened(await scraper.GetStringAsync("/metrics")) > openedBefore, "the dead replica's circuit did not open from the pipeline's steps");
        await hyperion.WaitForAsync("inference-0", s => s.IsHealthy && s.Pid != pid, HyperionAppFixture.StartTimeout, "restarted");
    }

    private const int Concurrency = 4;

    private static async Task WaitReadyEverywhereAsync(HttpClient admin, string model) =>
        await WaitUntilAsync(async () =>
        {
            using var status = await admin.GetAsync($"/api/v1/deployments/{model}");
            return (await JsonAsync(status)).GetProperty("ready").GetBoolean();
        }, TimeSpan.FromMinutes(2), "the model ready on every replica");

    /// <summary>
    /// <see cref="Concurrency"/> callers make <paramref name="call"/> through the gateway for 12 s; inference-0 is killed
    /// 2 s in. Bounded by time, not a count: the load must still run for a while after the kill however fast calls are.
    /// </summary>
    private async Task<(int Succeeded, ConcurrentBag<string> Failures, int Pid, long KilledAt)> KillInferenceReplicaUnderLoadAsync(
        string key, Func<HttpClient, Task<HttpResponseMessage>> call)
    {
        var failures = new ConcurrentBag<string>();
        var succeeded = 0;
        var pid = hyperion.ProcessId("inference-0")!.Value;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(12));
        var loops = Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            using var gateway = hyperion.CreateGatewayClient(key);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await call(gateway);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref succeeded);
                    }
                    else
                    {
                        failures.Add($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }
                catch (HttpRequestException ex)
                {
                    failures.Add(ex.Message);
                }
            }
        }).ToList();

        await Task.Delay(TimeSpan.FromSeconds(2));
        var killedAt = Stopwatch.GetTimestamp();
        Process.GetProcessById(pid).Kill();
        await Task.WhenAll(loops);
        return (succeeded, failures, pid, killedAt);
    }

    private static double CircuitsOpened(string metrics) =>
        metrics.Split('\n')
            .Where(line => line.StartsWith("hyperion_gateway_circuit_transitions_total{", StringComparison.Ordinal) && line.Contains("state=\"open\"", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
}

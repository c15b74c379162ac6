using System.Diagnostics;
using System.Net;
using System.Text;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>
/// Slow and overloaded models: the gateway gives up at its own time-out, and errors a replica answers for one model
/// do not take that replica away from the others.
/// </summary>
[Collection(GatewayOneReplicaCollection.Name)]
public sealed class GatewaySlowModelTests(GatewayOneReplicaFixture hyperion)
{
    [Fact]
    public async Task A_request_the_replica_holds_past_the_upstream_timeout_is_504_naming_the_setting_and_other_models_are_still_served()
    {
        var slow = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "slow");
        var healthy = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "fast");

        // The batcher holds a lone request for 20 s waiting for a batch of 64: a replica that takes too long.
        await RedeployAsync(slow, """{"stable": 1, "max_batch_size": 64, "batching": {"max_queue_delay_microseconds": 20000000, "preferred_batch_size": [64]}}""");

        using var gateway = hyperion.CreateGatewayClient();
        HttpResponseMessage? timedOut = null;
        var elapsed = TimeSpan.Zero;
        await WaitUntilAsync(async () =>
        {
            var started = Stopwatch.GetTimestamp();
            var response = await InferAsync(gateway, slow);
            elapsed = Stopwatch.GetElapsedTime(started);
            if (response.StatusCode == HttpStatusCode.GatewayTimeout)
            {
                timedOut = response;
                return true;
            }
            response.Dispose();
            return false;
        }, TimeSpan.FromMinutes(1), "the replicas reloading the model with the slow batching");

        using (timedOut)
        {
            var error = await AssertOipErrorAsync(timedOut!, HttpStatusCode.GatewayTimeout);
            Assert.Contains("Gateway:Resilience:UpstreamTimeoutSeconds", error);
        }
        // The gateway gave up at its time-out, not when the replica would have answered.
        Assert.InRange(elapsed, TimeSpan.FromSeconds(GatewayOneReplicaFixture.UpstreamTimeoutSeconds - 0.5), TimeSpan.FromSeconds(15));

        using var other = await InferAsync(gateway, healthy);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal("1", VersionOf(other));
    }

    [Fact]
    public async Task Errors_a_replica_answers_for_one_model_do_not_open_its_circuit_for_the_others()
    {
        var overloaded = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "queue");
        var healthy = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "calm");
        // A lone request waits for a batch of 64 and the replica's batcher gives up on it after 100 ms: the replica
        // itself answers 504, quickly, as it would for a model whose queue cannot keep up.
        await RedeployAsync(overloaded,
            """{"stable": 1, "max_batch_size": 64, "batching": {"max_queue_delay_microseconds": 20000000, "preferred_batch_size": [64], "default_timeout_microseconds": 100000}}""");

        using var gateway = hyperion.CreateGatewayClient();
        // Every replica has reloaded once a run of answers, spread over the replicas by the gateway, are all 504s.
        await WaitUntilAsync(async () =>
        {
            for (var i = 0; i < 2 * hyperion.InferenceReplicas; i++)
            {
                using var response = await InferAsync(gateway, overloaded);
                if (response.StatusCode != HttpStatusCode.GatewayTimeout)
                {
                    return false;
                }
            }
            return true;
        }, TimeSpan.FromMinutes(1), "every replica reloading the model with the batching time-out");
        var openedBefore = await CircuitOpeningsAsync();

        // Well over BreakerFailureThreshold (3) on every replica.
        for (var i = 0; i < 4 * hyperion.InferenceReplicas; i++)
        {
            using var response = await InferAsync(gateway, overloaded);
            var error = await AssertOipErrorAsync(response, HttpStatusCode.GatewayTimeout);
            Assert.DoesNotContain("Gateway:Resilience", error); // the replica's answer, not the gateway's time-out
        }
        for (var i = 0; i < 10; i++)
        {
            using var response = await InferAsync(gateway, healthy);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(openedBefore, await CircuitOpeningsAsync());
    }

    private async Task RedeployAsync(string model, string spec)
    {
        using var admin = hyperion.CreateApiClient();
        using var put = await admin.PutAsync($"/api/v1/deployments/{model}", new StringContent(spec, Encoding.UTF8, "application/json"));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
    }

    private async Task<double> CircuitOpeningsAsync()
    {
        var metrics = await hyperion.CreateHttpClient("gateway").GetStringAsync("/metrics");
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("hyperion_gateway_circuit_transitions_total{", StringComparison.Ordinal) && l.Contains("state=\"open\"", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}

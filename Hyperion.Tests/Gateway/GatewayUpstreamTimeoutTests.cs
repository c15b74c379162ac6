using System.Diagnostics;
using System.Net;
using System.Text;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>A replica that does not answer in time: the gateway answers 504 at its own time-out and keeps serving other models.</summary>
[Collection(GatewayOneReplicaCollection.Name)]
public sealed class GatewayUpstreamTimeoutTests(GatewayOneReplicaFixture hyperion)
{
    [Fact]
    public async Task A_request_the_replica_holds_past_the_upstream_timeout_is_504_naming_the_setting_and_other_models_are_still_served()
    {
        var slow = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "slow");
        var healthy = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "fast");

        // The batcher holds a lone request for 20 s waiting for a batch of 64: a replica that takes too long.
        using var admin = hyperion.CreateApiClient();
        using var put = await admin.PutAsync($"/api/v1/deployments/{slow}", new StringContent(
            """{"stable": 1, "max_batch_size": 64, "batching": {"max_queue_delay_microseconds": 20000000, "preferred_batch_size": [64]}}""", Encoding.UTF8, "application/json"));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());

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
}

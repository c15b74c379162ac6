using System.Net;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using static Hyperion.Tests.ControlPlane.DeploymentTestSupport;

namespace Hyperion.Tests.ControlPlane;

/// <summary>A version the engine refuses fails alone, with the reason, and never takes traffic from stable.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class DeploymentFailureTests(HyperionAppFixture hyperion)
{
    // The registry accepts it (a valid config); this CPU build of the server cannot run it.
    private const string GpuConfig = """{"instance_group": [{"kind": "gpu", "count": 1}]}""";

    [Fact]
    public async Task A_canary_the_engine_refuses_is_failed_with_the_reason_while_stable_serves()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "refused", versions: 2, configOf: version => version == 2 ? GpuConfig : null);
        await PutOkAsync(api, model, """{"stable": 1, "canary": {"version": 2, "percent": 50}}""");

        var replicas = hyperion.InferenceReplicas;
        var status = await WaitForAsync(api, model, s => IsReadyOn(s, 1, replicas)
            && Version(s, 2)!["states"]!.AsArray().Count(state => state!["state"]!.GetValue<string>() == "failed") == replicas,
            "version 2 failed on every replica, version 1 ready");
        Assert.All(Version(status, 2)!["states"]!.AsArray(), state => Assert.Contains("gpu", state!["reason"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase));
        Assert.Equal(0, Version(status, 2)!["ready_replicas"]!.GetValue<int>());
        Assert.Null(status["serving"]!["canary"]);
        Assert.Equal(1, status["serving"]!["stable"]!.GetValue<long>());

        var route = RouteOf(await RoutingAsync(hyperion), model)!;
        Assert.Null(route["canary"]);
        Assert.Empty(route["versions"]!.AsArray().Single(v => v!["version"]!.GetValue<long>() == 2)!["ready_on"]!.AsArray());

        for (var replica = 0; replica < replicas; replica++)
        {
            var (code, labels, body) = await InferDigitsAsync(hyperion, replica, model, 1);
            Assert.True(code == HttpStatusCode.OK, $"inference-{replica}: {(int)code} {body}");
            Assert.Equal(ExpectedDigitLabels, labels);
        }
    }

    [Fact]
    public async Task Switching_stable_to_a_version_that_cannot_load_keeps_the_old_one_serving()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "badswitch", versions: 2, configOf: version => version == 2 ? GpuConfig : null);
        await PutOkAsync(api, model, """{"stable": 1}""");
        await WaitForAsync(api, model, s => IsReadyOn(s, 1, hyperion.InferenceReplicas), "version 1 ready");

        await PutOkAsync(api, model, """{"stable": 2}""");
        var status = await WaitForAsync(api, model,
            s => Version(s, 2)!["states"]!.AsArray().All(state => state!["state"]!.GetValue<string>() == "failed"),
            "version 2 failed everywhere");
        Assert.False(status["ready"]!.GetValue<bool>());
        Assert.Equal(1, status["serving"]!["stable"]!.GetValue<long>());
        Assert.Equal(hyperion.InferenceReplicas, Version(status, 1)!["ready_replicas"]!.GetValue<int>());
        Assert.Equal(1, RouteOf(await RoutingAsync(hyperion), model)!["stable"]!.GetValue<long>());
        Assert.Equal(HttpStatusCode.OK, (await InferDigitsAsync(hyperion, 0, model, 1)).Status);

        // Back to version 1: it serves everywhere already, so the deployment is ready at once.
        var back = await PutOkAsync(api, model, """{"stable": 1}""");
        Assert.Equal(3, back["revision"]!.GetValue<long>());
        Assert.True(back["ready"]!.GetValue<bool>());
    }
}

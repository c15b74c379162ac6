using System.Diagnostics;
using Hyperion.Tests.ControlPlane;
using static Hyperion.Tests.Rollouts.RolloutTestApi;

namespace Hyperion.Tests.Rollouts;

/// <summary>
/// Switching stable under load loses no request; the previous stable stays loaded for the retention period, so
/// <c>POST .../rollback</c> switches back in one call, at once and again without a failed request.
/// </summary>
[Collection(RolloutAppCollection.Name)]
public sealed class BlueGreenTests(RolloutAppFixture hyperion)
{
    [Fact]
    public async Task A_blue_green_switch_and_a_one_call_rollback_under_load_fail_no_request()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "bluegreen", "digits", "digits");
        await DeployStableAsync(hyperion, api, model, 1);
        await using var load = GatewayLoad.Start(hyperion, model);
        await load.WaitForAnswersAsync("1", 20, TimeSpan.Zero, "answers from version 1");

        // Blue-green: version 2 loads beside 1, and stable moves once it is ready on every replica.
        await DeploymentTestSupport.PutOkAsync(api, model, """{"stable": 2}""");
        var switched = await DeploymentTestSupport.WaitForAsync(api, model,
            status => DeploymentTestSupport.IsReadyOn(status, 2, hyperion.InferenceReplicas), "version 2 serving on every replica");
        var switchedAt = load.Now;
        await load.WaitForAnswersAsync("2", 30, switchedAt + TimeSpan.FromSeconds(2), "answers from version 2 after the switch");

        // Version 1 is kept loaded for an instant rollback.
        Assert.Equal(1, switched["previous_stable"]!["version"]!.GetValue<long>());
        var kept = await DeploymentTestSupport.GetAsync(api, model);
        Assert.Equal(hyperion.InferenceReplicas, DeploymentTestSupport.Version(kept, 1)!["ready_replicas"]!.GetValue<int>());

        // Rollback in one call: stable serves version 1 again in the answer itself, with no load in between.
        var started = Stopwatch.GetTimestamp();
        var rolledBack = await PostOkAsync(api, model, "rollback");
        var took = Stopwatch.GetElapsedTime(started);
        var rolledBackAt = load.Now;
        Assert.Equal(1, rolledBack["stable"]!.GetValue<long>());
        Assert.Equal(1, Serving(rolledBack));
        Assert.True(rolledBack["ready"]!.GetValue<bool>(), rolledBack.ToJsonString());
        Assert.Equal(2, rolledBack["previous_stable"]!["version"]!.GetValue<long>());
        Assert.True(took < TimeSpan.FromSeconds(5), $"the rollback took {took.TotalSeconds:0.0} s");
        await load.WaitForAnswersAsync("1", 30, rolledBackAt + TimeSpan.FromSeconds(2), "answers from version 1 after the rollback");
        var results = await load.StopAsync();

        Assert.True(load.Failures.Count == 0, $"{load.Failures.Count} of {results.Count} requests failed: " + GatewayLoad.Describe(load.Failures));
        // Within a couple of seconds of each change every gateway answered from the new stable only.
        var settled = results.Where(result => result.At > rolledBackAt + TimeSpan.FromSeconds(2)).ToList();
        Assert.NotEmpty(settled);
        Assert.All(settled, result => Assert.Equal("1", result.Version));

        var audit = await AuditAsync(hyperion, model);
        var rollback = audit.Single(entry => entry.Action == "deployment.rolled_back");
        Assert.StartsWith("key:", rollback.Actor); // the caller, not the controller
        Assert.Contains("back to version 1", rollback.Details["reason"]!.GetValue<string>());
        var webhook = await WebhookAsync(hyperion, model, "deployment.rolled_back");
        Assert.Equal(1, webhook["data"]!["after"]!["stable"]!.GetValue<long>());

        // A second rollback goes forward again (like `kubectl rollout undo`).
        var again = await PostOkAsync(api, model, "rollback");
        Assert.Equal(2, again["stable"]!.GetValue<long>());
    }

    [Fact]
    public async Task The_previous_stable_unloads_after_the_retention_period_and_rollback_without_history_is_409()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "retain", "digits", "digits");
        await DeployStableAsync(hyperion, api, model, 1);

        var (status, problem) = await PostAsync(api, model, "rollback");
        Assert.Equal(System.Net.HttpStatusCode.Conflict, status);
        Assert.Contains("has nothing to roll back to", problem["detail"]!.GetValue<string>());

        await DeploymentTestSupport.PutOkAsync(api, model, """{"stable": 2}""");
        var switched = await DeploymentTestSupport.WaitForAsync(api, model,
            state => DeploymentTestSupport.IsReadyOn(state, 2, hyperion.InferenceReplicas), "version 2 serving on every replica");
        var until = switched["previous_stable"]!["loaded_until"]!.GetValue<DateTimeOffset>();
        Assert.InRange((until - DateTimeOffset.UtcNow).TotalSeconds, 5, RolloutAppFixture.RetentionSeconds + 5);

        var unloaded = await DeploymentTestSupport.WaitForAsync(api, model,
            state => state["previous_stable"] is null && DeploymentTestSupport.Version(state, 1) is null,
            "version 1 unloaded after the retention period");
        Assert.True(DateTimeOffset.UtcNow >= until, $"version 1 was unloaded before {until:O}");
        Assert.True(DeploymentTestSupport.IsReadyOn(unloaded, 2, hyperion.InferenceReplicas));
    }
}

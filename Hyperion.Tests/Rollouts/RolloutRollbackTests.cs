using Hyperion.Tests.ControlPlane;
using static Hyperion.Tests.Rollouts.RolloutTestApi;

namespace Hyperion.Tests.Rollouts;

/// <summary>A canary that fails every request (testdata's digits_failing) is rolled back by the controller on its own.</summary>
[Collection(RolloutAppCollection.Name)]
public sealed class RolloutRollbackTests(RolloutAppFixture hyperion)
{
    [Fact]
    public async Task A_canary_that_errors_is_rolled_back_at_once_with_the_reason_in_the_audit_log_and_a_webhook()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "failing", "digits", "digits_failing");
        await DeployStableAsync(hyperion, api, model, 1);
        await using var load = GatewayLoad.Start(hyperion, model);

        // A long step: the rollback must come from the failing gate, not from the step's time running out.
        await DeploymentTestSupport.PutOkAsync(api, model, SmallPlan(1, 2, stepSeconds: 600));
        var rolledBack = await DeploymentTestSupport.WaitForAsync(api, model, status => State(status) == "rolled_back", "the failing canary rolled back");
        var rollbackSeen = load.Now;

        var rollout = Rollout(rolledBack)!;
        var reason = rollout["reason"]!.GetValue<string>();
        Assert.Contains("error rate 100", reason);
        Assert.Contains("100 points above stable, more than max_error_rate_delta 0.02 (2 points)", reason);
        Assert.Equal(0, rollout["percent"]!.GetValue<double>());
        Assert.Equal(0, rollout["step"]!.GetValue<int>());
        Assert.Equal("rollout.rolled_back", rollout["last_decision"]!["action"]!.GetValue<string>());
        Assert.Equal(rollout["arms"]!["canary"]!["requests"]!.GetValue<long>(), rollout["arms"]!["canary"]!["errors"]!.GetValue<long>());
        Assert.Null(rolledBack["canary"]);
        Assert.Equal(1, rolledBack["stable"]!.GetValue<long>());

        // The stable answers everything once the gateways route by the rolled-back revision.
        await load.WaitForAnswersAsync("1", 30, rollbackSeen + TimeSpan.FromSeconds(3), "answers from version 1 after the rollback");
        var results = await load.StopAsync();
        var late = results.Where(result => result.At >= rollbackSeen + TimeSpan.FromSeconds(3)).ToList();
        Assert.True(late.All(result => result.Ok && result.Version == "1"), "after the rollback: " + GatewayLoad.Describe(late.Where(result => !result.Ok || result.Version != "1")));
        // Only the canary ever failed, and only with the server's error.
        Assert.All(load.Failures, failure => Assert.Equal(("2", 500), (failure.Version, (int)failure.Status)));

        var audit = (await AuditAsync(hyperion, model)).Single(entry => entry.Action == "rollout.rolled_back");
        Assert.Equal("system:rollout", audit.Actor);
        Assert.Equal(reason, audit.Details["reason"]!.GetValue<string>());
        var evidence = audit.Details["evidence"]!;
        Assert.True(evidence["arms"]!["canary"]!["errors"]!.GetValue<long>() >= 20, audit.Details.ToJsonString());
        Assert.Equal(1.0, evidence["arms"]!["canary"]!["error_rate"]!.GetValue<double>());
        Assert.Equal(0.0, evidence["arms"]!["stable"]!["error_rate"]!.GetValue<double>());
        Assert.Null(audit.Details["after"]!["canary"]);

        var webhook = await WebhookAsync(hyperion, model, "rollout.rolled_back");
        Assert.Equal("system:rollout", webhook["actor"]!.GetValue<string>());
        Assert.Equal(reason, webhook["data"]!["reason"]!.GetValue<string>());
        Assert.Equal("rolled_back", webhook["data"]!["rollout"]!["state"]!.GetValue<string>());
        Assert.DoesNotContain("rollout.promoted", WebhookTypes(hyperion, model));
    }
}

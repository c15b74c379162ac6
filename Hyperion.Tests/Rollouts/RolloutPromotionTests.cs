using System.Text.Json.Nodes;
using Hyperion.Tests.ControlPlane;
using static Hyperion.Tests.Rollouts.RolloutTestApi;

namespace Hyperion.Tests.Rollouts;

/// <summary>A healthy canary under load through the gateway: the controller moves it step by step and makes it stable.</summary>
[Collection(RolloutAppCollection.Name)]
public sealed class RolloutPromotionTests(RolloutAppFixture hyperion)
{
    [Fact]
    public async Task A_healthy_canary_is_promoted_step_by_step_to_stable_with_evidence_in_the_audit_log_and_webhooks()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "healthy", "digits", "digits");
        await DeployStableAsync(hyperion, api, model, 1);
        await using var load = GatewayLoad.Start(hyperion, model);

        var put = await DeploymentTestSupport.PutOkAsync(api, model, SmallPlan(1, 2));
        Assert.Equal("progressing", State(put));
        Assert.Equal(50, Rollout(put)!["percent"]!.GetValue<double>());

        var seen = new List<(string State, int Step, double Percent)>();
        var promoted = await DeploymentTestSupport.WaitForAsync(api, model,
            status => State(status) == "promoted" && Serving(status) == 2 && status["ready"]!.GetValue<bool>(),
            "the canary promoted to stable",
            status =>
            {
                if (Rollout(status) is { } rollout)
                {
                    var position = (rollout["state"]!.GetValue<string>(), rollout["step"]!.GetValue<int>(), rollout["percent"]!.GetValue<double>());
                    if (seen.Count == 0 || seen[^1] != position)
                    {
                        seen.Add(position);
                    }
                }
            });
        var results = await load.StopAsync();

        // Every state on the way was visible: 50 %, then 100 %, then promoted.
        Assert.Contains(("progressing", 0, 50.0), seen);
        Assert.Contains(("progressing", 1, 100.0), seen);
        Assert.Equal(("promoted", 1, 100.0), seen[^1]);
        Assert.Equal(2, promoted["stable"]!.GetValue<long>());
        Assert.Null(promoted["canary"]);
        var rollout = Rollout(promoted)!;
        Assert.Equal("rollout.promoted", rollout["last_decision"]!["action"]!.GetValue<string>());
        Assert.Contains("gates held at the last step", rollout["reason"]!.GetValue<string>());
        Assert.Equal([50.0, 100.0], rollout["plan"]!["steps"]!.AsArray().Select(step => step!.GetValue<double>()));
        Assert.True(rollout["arms"]!["canary"]!["requests"]!.GetValue<long>() >= 20, rollout.ToJsonString());

        Assert.True(load.Failures.Count == 0, "failed requests: " + GatewayLoad.Describe(load.Failures));
        Assert.Contains(results, result => result.Version == "1");
        Assert.Contains(results, result => result.Version == "2");

        // One audit entry per decision, by the controller, with the numbers it decided on.
        var audit = (await AuditAsync(hyperion, model)).Where(entry => entry.Action.StartsWith("rollout.", StringComparison.Ordinal)).ToList();
        Assert.Equal(["rollout.started", "rollout.step", "rollout.promoted"], audit.Select(entry => entry.Action));
        Assert.All(audit, entry => Assert.Equal("system:rollout", entry.Actor));
        foreach (var decision in audit.Skip(1))
        {
            var evidence = decision.Details["evidence"]!;
            Assert.True(evidence["arms"]!["canary"]!["requests"]!.GetValue<long>() >= 20, decision.Details.ToJsonString());
            Assert.Equal(0, evidence["arms"]!["canary"]!["errors"]!.GetValue<long>());
            Assert.Equal(0.02, evidence["gates"]!["max_error_rate_delta"]!.GetValue<double>());
            Assert.Equal(5.0, evidence["gates"]!["max_p95_latency_ratio"]!.GetValue<double>());
            Assert.NotNull(evidence["arms"]!["canary"]!["p95_ms"]);
        }
        Assert.Equal(1, audit[1].Details["rollout"]!["step"]!.GetValue<int>());
        Assert.Equal(100, audit[1].Details["after"]!["canary_percent"]!.GetValue<double>());
        Assert.Equal(2, audit[2].Details["after"]!["stable"]!.GetValue<long>());

        // The revisions the controller wrote say who wrote them.
        var revisions = JsonNode.Parse(await api.GetStringAsync($"/api/v1/deployments/{model}/revisions"))!["revisions"]!.AsArray();
        Assert.Equal("system:rollout", revisions[0]!["created_by"]!.GetValue<string>());
        Assert.Equal(2, revisions[0]!["spec"]!["stable"]!.GetValue<long>());

        var started = await WebhookAsync(hyperion, model, "rollout.started");
        var step = await WebhookAsync(hyperion, model, "rollout.step");
        var done = await WebhookAsync(hyperion, model, "rollout.promoted");
        Assert.Equal("system:rollout", done["actor"]!.GetValue<string>());
        Assert.Equal(100, step["data"]!["rollout"]!["percent"]!.GetValue<double>());
        Assert.Equal("promoted", done["data"]!["rollout"]!["state"]!.GetValue<string>());
        Assert.NotNull(started["data"]!["reason"]);
    }
}

using System.Net;
using System.Text.Json.Nodes;
using Hyperion.Tests.ControlPlane;
using Npgsql;
using static Hyperion.Tests.Rollouts.RolloutTestApi;

namespace Hyperion.Tests.Rollouts;

/// <summary>What a person can tell a rollout (pause, resume, promote, rollback) and what the controller does meanwhile.</summary>
[Collection(RolloutAppCollection.Name)]
public sealed class RolloutControlTests(RolloutAppFixture hyperion)
{
    [Fact]
    public async Task A_paused_rollout_holds_its_step_until_resumed_and_promote_skips_the_remaining_steps()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "pause", "digits", "digits");
        await DeployStableAsync(hyperion, api, model, 1);
        await using var load = GatewayLoad.Start(hyperion, model);

        // Three steps, so that after resuming there are steps left for promote to skip.
        await DeploymentTestSupport.PutOkAsync(api, model,
            """{"stable": 1, "canary": {"version": 2, "steps": [20, 50, 100], "step_seconds": 2, "min_requests": 20, "max_p95_latency_ratio": 5}}""");
        await DeploymentTestSupport.WaitForAsync(api, model, status => Rollout(status)?["step_started_at"] is not null, "the canary taking traffic");

        var paused = await PostOkAsync(api, model, "pause");
        Assert.Equal("paused", State(paused));
        Assert.Equal(0, Rollout(paused)!["step"]!.GetValue<int>());
        Assert.Contains("paused by key:", Rollout(paused)!["reason"]!.GetValue<string>());
        var (again, problem) = await PostAsync(api, model, "pause");
        Assert.Equal(HttpStatusCode.Conflict, again);
        Assert.Contains("is already paused", problem["detail"]!.GetValue<string>());

        // Well past the step's time and requests, the rollout stays where it was.
        var since = load.Now;
        await load.WaitForAnswersAsync("2", 40, since, "canary answers while paused");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var held = await DeploymentTestSupport.GetAsync(api, model);
        Assert.Equal("paused", State(held));
        Assert.Equal(0, Rollout(held)!["step"]!.GetValue<int>());
        Assert.Equal(20, held["canary"]!["percent"]!.GetValue<double>());
        Assert.Contains("paused, so it does not move on: gates held", Rollout(held)!["analysis"]!.GetValue<string>());

        var resumed = await PostOkAsync(api, model, "resume");
        Assert.Equal("progressing", State(resumed));
        await DeploymentTestSupport.WaitForAsync(api, model,
            status => Rollout(status)?["step"]?.GetValue<int>() == 1 && Rollout(status)?["arms"]?["canary"]?["requests"]?.GetValue<long>() >= 5,
            "step 1 after resuming, with canary requests in it");

        var promoted = await PostOkAsync(api, model, "promote");
        Assert.Equal("promoted", State(promoted));
        Assert.Contains("skipping 1 remaining step", Rollout(promoted)!["reason"]!.GetValue<string>());
        Assert.Equal(2, promoted["stable"]!.GetValue<long>());
        Assert.Null(promoted["canary"]);
        // Version 2 was ready everywhere as the canary: it takes stable traffic in the same call.
        Assert.Equal(2, Serving(promoted));
        await load.StopAsync();
        Assert.True(load.Failures.Count == 0, "failed requests: " + GatewayLoad.Describe(load.Failures));

        var audit = (await AuditAsync(hyperion, model)).Where(entry => entry.Action.StartsWith("rollout.", StringComparison.Ordinal)).ToList();
        Assert.Equal(["rollout.started", "rollout.paused", "rollout.resumed", "rollout.step", "rollout.promoted"], audit.Select(entry => entry.Action));
        Assert.StartsWith("key:", audit[1].Actor);
        Assert.StartsWith("key:", audit[4].Actor);
        // A person's decision is recorded with the numbers they decided on, like the controller's.
        Assert.True(audit[4].Details["evidence"]!["arms"]!["canary"]!["requests"]!.GetValue<long>() > 0, audit[4].Details.ToJsonString());
        Assert.Equal("system:rollout", audit[3].Actor);
        await WebhookAsync(hyperion, model, "rollout.paused");
        await WebhookAsync(hyperion, model, "rollout.resumed");

        foreach (var verb in new[] { "promote", "pause", "resume" })
        {
            var (status, conflict) = await PostAsync(api, model, verb);
            Assert.True(status == HttpStatusCode.Conflict, $"{verb} after the promotion: {(int)status} {conflict.ToJsonString()}");
            Assert.False(string.IsNullOrWhiteSpace(conflict["detail"]?.GetValue<string>()));
        }
    }

    [Fact]
    public async Task A_canary_with_only_a_version_is_a_plan_with_the_documented_defaults()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "defaults", "digits", "digits");
        var put = await DeploymentTestSupport.PutOkAsync(api, model, """{"stable": 1, "canary": {"version": 2}}""");
        var canary = put["canary"]!;
        Assert.Equal([10.0, 50.0, 100.0], canary["steps"]!.AsArray().Select(step => step!.GetValue<double>()));
        Assert.Equal(60, canary["step_seconds"]!.GetValue<int>());
        Assert.Equal(100, canary["min_requests"]!.GetValue<long>());
        Assert.Equal(0.02, canary["max_error_rate_delta"]!.GetValue<double>());
        Assert.Equal(2.0, canary["max_p95_latency_ratio"]!.GetValue<double>());
        Assert.Equal(10, canary["percent"]!.GetValue<double>());

        var status = await DeploymentTestSupport.WaitForAsync(api, model,
            state => Rollout(state)?["last_decision"]?["action"]?.GetValue<string>() == "rollout.started", "the controller starting the rollout");
        var rollout = Rollout(status)!;
        Assert.Equal("progressing", rollout["state"]!.GetValue<string>());
        Assert.Equal((0, 10.0), (rollout["step"]!.GetValue<int>(), rollout["percent"]!.GetValue<double>()));
        Assert.Equal(60, rollout["plan"]!["step_seconds"]!.GetValue<int>());
        Assert.Contains("rolls out version 2 over 10 %, 50 %, 100 % against stable version 1", rollout["reason"]!.GetValue<string>());

        // A PUT without the plan ends the rollout: here by making version 2 stable by hand.
        await DeploymentTestSupport.PutOkAsync(api, model, """{"stable": 2}""");
        var ended = await DeploymentTestSupport.WaitForAsync(api, model, state => State(state) == "promoted", "the rollout ended by the PUT");
        Assert.Contains("replaced the plan: stable is version 2", Rollout(ended)!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Rollback_during_a_rollout_removes_the_canary_at_once()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "abort", "digits", "digits");
        await DeployStableAsync(hyperion, api, model, 1);
        await DeploymentTestSupport.PutOkAsync(api, model, SmallPlan(1, 2, stepSeconds: 600));
        await DeploymentTestSupport.WaitForAsync(api, model, status => status["serving"]?["canary"] is not null, "the canary taking traffic");

        var rolledBack = await PostOkAsync(api, model, "rollback");
        Assert.Equal("rolled_back", State(rolledBack));
        Assert.Contains("rolled back by key:", Rollout(rolledBack)!["reason"]!.GetValue<string>());
        Assert.Null(rolledBack["canary"]);
        Assert.Null(rolledBack["serving"]!["canary"]);
        Assert.Equal(1, Serving(rolledBack));
        var routing = DeploymentTestSupport.RouteOf(await DeploymentTestSupport.RoutingAsync(hyperion), model)!;
        Assert.Null(routing["canary"]);
        await WebhookAsync(hyperion, model, "rollout.rolled_back");
    }

    [Fact]
    public async Task Calls_on_a_model_without_a_deployment_are_404_and_without_a_canary_409()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "nothing", "digits");
        foreach (var verb in new[] { "promote", "rollback", "pause", "resume" })
        {
            var (status, problem) = await PostAsync(api, model, verb);
            Assert.True(status == HttpStatusCode.NotFound, $"{verb}: {(int)status} {problem.ToJsonString()}");
            Assert.Contains("has no deployment", problem["detail"]!.GetValue<string>());
        }
        await DeploymentTestSupport.PutOkAsync(api, model, """{"stable": 1}""");
        var (promote, noCanary) = await PostAsync(api, model, "promote");
        Assert.Equal(HttpStatusCode.Conflict, promote);
        Assert.Contains("has no canary to promote", noCanary["detail"]!.GetValue<string>());
        var (pause, noRollout) = await PostAsync(api, model, "pause");
        Assert.Equal(HttpStatusCode.Conflict, pause);
        Assert.Contains("has no rollout to pause", noRollout["detail"]!.GetValue<string>());

        using var infer = hyperion.CreateApiClient(key: await KeyWithScopeAsync(api, "infer"));
        using var forbidden = await infer.PostAsync($"/api/v1/deployments/{model}/rollback", content: null);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    [Fact]
    public async Task While_another_orchestrator_holds_a_rollout_this_one_leaves_it_alone_and_each_step_is_taken_once()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "locked", "digits", "digits");
        await DeployStableAsync(hyperion, api, model, 1);
        await using var load = GatewayLoad.Start(hyperion, model);
        await DeploymentTestSupport.PutOkAsync(api, model, SmallPlan(1, 2));
        await DeploymentTestSupport.WaitForAsync(api, model, status => Rollout(status)?["step_started_at"] is not null, "the canary taking traffic");

        // Play the other orchestrator: hold the rollout's row while the step's time and requests pass.
        await using (var connection = new NpgsqlConnection(hyperion.GetConnectionString("hyperion")))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var hold = new NpgsqlCommand("SELECT 1 FROM rollouts WHERE model = $1 FOR UPDATE", connection, transaction))
            {
                hold.Parameters.Add(new NpgsqlParameter { Value = model });
                await hold.ExecuteScalarAsync();
            }
            await load.WaitForAnswersAsync("2", 40, load.Now, "canary answers while the row is held");
            await Task.Delay(TimeSpan.FromSeconds(3));
            var held = await DeploymentTestSupport.GetAsync(api, model);
            Assert.Equal(0, Rollout(held)!["step"]!.GetValue<int>());
            Assert.Equal(50, held["canary"]!["percent"]!.GetValue<double>());
            await transaction.RollbackAsync();
        }

        await DeploymentTestSupport.WaitForAsync(api, model, status => State(status) == "promoted", "the rollout moving on once the row is free");
        await load.StopAsync();
        var audit = (await AuditAsync(hyperion, model)).Where(entry => entry.Action.StartsWith("rollout.", StringComparison.Ordinal)).ToList();
        Assert.Equal(["rollout.started", "rollout.step", "rollout.promoted"], audit.Select(entry => entry.Action));
        var metrics = await hyperion.CreateHttpClient("orchestrator").GetStringAsync("/metrics");
        Assert.Contains("hyperion_orchestrator_rollout_skipped_total", metrics);
    }

    [Fact]
    public async Task A_shadow_is_compared_with_stable_on_live_traffic_and_the_status_shows_agreement()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "shadow", "digits", "digits");
        await DeployStableAsync(hyperion, api, model, 1);
        await DeploymentTestSupport.PutOkAsync(api, model, """{"stable": 1, "shadow": {"version": 2}}""");
        await DeploymentTestSupport.WaitForAsync(api, model, status => status["serving"]?["shadow"] is not null, "the shadow taking copies");
        await using var load = GatewayLoad.Start(hyperion, model, loops: 2);

        var status = await DeploymentTestSupport.WaitForAsync(api, model,
            state => state["shadow_analysis"]?["compared"]?.GetValue<long>() >= 20, "20 shadow comparisons");
        await load.StopAsync();
        Assert.All(load.Results, result => Assert.Equal("1", result.Version));
        var analysis = status["shadow_analysis"]!.AsObject();
        Assert.Equal(2, analysis["version"]!.GetValue<long>());
        // The same model on both arms: every copy agrees, to the last bit.
        Assert.Equal(1.0, analysis["agreement_rate"]!.GetValue<double>());
        Assert.Equal(0.0, analysis["max_abs_diff"]!.GetValue<double>());
        Assert.Equal(0.0, analysis["mean_abs_diff"]!.GetValue<double>());
        Assert.Equal(0, analysis["errors"]!.GetValue<long>());
        Assert.Null(status["rollout"]);
    }

    private static async Task<string> KeyWithScopeAsync(HttpClient api, string scope)
    {
        using var response = await api.PostAsync("/api/v1/keys",
            new StringContent($$"""{"name": "rollout-test-{{scope}}", "scopes": ["{{scope}}"]}""", System.Text.Encoding.UTF8, "application/json"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToJsonString());
        return body["key"]!.GetValue<string>();
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using StackExchange.Redis;
using static Hyperion.Tests.ControlPlane.DeploymentTestSupport;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Deploy, converge, serve, switch stable (blue-green), history and audit, on the real graph.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class DeploymentLifecycleTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task A_deployed_version_becomes_ready_on_every_replica_and_serves_there()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "deploy", versions: 1);

        var created = await PutOkAsync(api, model, """{"stable": 1}""");
        Assert.Equal(1, created["revision"]!.GetValue<long>());
        Assert.True(created["changed"]!.GetValue<bool>());
        Assert.Equal(1, created["stable"]!.GetValue<long>());
        Assert.Equal("cpu", created["pool"]!.GetValue<string>());

        var ready = await WaitForAsync(api, model, status => IsReadyOn(status, 1, hyperion.InferenceReplicas), "version 1 ready on every replica");
        var states = Version(ready, 1)!["states"]!.AsArray();
        Assert.Equal(
            Enumerable.Range(0, hyperion.InferenceReplicas).Select(i => $"inference-{i}"),
            states.Select(state => state!["replica"]!.GetValue<string>()).Order());
        Assert.All(states, state => Assert.Equal("ready", state!["state"]!.GetValue<string>()));

        for (var replica = 0; replica < hyperion.InferenceReplicas; replica++)
        {
            var (status, labels, body) = await InferDigitsAsync(hyperion, replica, model, 1);
            Assert.True(status == HttpStatusCode.OK, $"inference-{replica}: {(int)status} {body}");
            Assert.Equal(ExpectedDigitLabels, labels);
        }

        using (var metrics = hyperion.CreateHttpClient("inference", replica: 0))
        {
            var text = await metrics.GetStringAsync("/metrics");
            Assert.Contains("hyperion_inference_convergence_heartbeats_total{", text);
            Assert.Matches("hyperion_inference_convergence_operations_total\\{[^}]*operation=\"load\"[^}]*outcome=\"success\"", text);
            Assert.Matches("hyperion_inference_convergence_versions\\{[^}]*state=\"ready\"", text);
        }

        // The same spec again changes nothing: no revision, no audit entry.
        var again = await PutOkAsync(api, model, """{"stable": 1, "pool": "cpu"}""");
        Assert.False(again["changed"]!.GetValue<bool>());
        Assert.Equal(1, again["revision"]!.GetValue<long>());
        Assert.Single(await AuditAsync(hyperion, model), entry => entry.Action == "deployment.created");
        Assert.DoesNotContain(await AuditAsync(hyperion, model), entry => entry.Action == "deployment.updated");
    }

    [Fact]
    public async Task Switching_stable_moves_traffic_only_once_the_new_version_is_ready_everywhere()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "switch", versions: 1);
        await PutOkAsync(api, model, """{"stable": 1}""");
        await WaitForAsync(api, model, status => IsReadyOn(status, 1, hyperion.InferenceReplicas), "version 1 ready");

        await RegistryTestData.UploadOkAsync(api, model, RegistryTestData.Digits);
        var switched = await PutOkAsync(api, model, """{"stable": 2}""");
        Assert.Equal(2, switched["revision"]!.GetValue<long>());
        // No replica has even heard of version 2 yet: version 1 keeps the traffic.
        Assert.Equal(1, switched["serving"]!["stable"]!.GetValue<long>());
        Assert.False(switched["ready"]!.GetValue<bool>());

        await WaitForAsync(api, model, status => IsReadyOn(status, 2, hyperion.InferenceReplicas), "stable traffic on version 2", status =>
        {
            if (status["serving"]!["stable"]!.GetValue<long>() == 2)
            {
                // Blue-green: version 2 serves only once it is ready on every replica.
                Assert.Equal(hyperion.InferenceReplicas, Version(status, 2)!["ready_replicas"]!.GetValue<int>());
            }
        });

        for (var replica = 0; replica < hyperion.InferenceReplicas; replica++)
        {
            var (status, labels, body) = await InferDigitsAsync(hyperion, replica, model, 2);
            Assert.True(status == HttpStatusCode.OK, $"inference-{replica}: {(int)status} {body}");
            Assert.Equal(ExpectedDigitLabels, labels);
        }

        // Once stable moved, version 1 stays loaded as the previous stable, so a rollback is instant; it is unloaded
        // after Orchestrator:Rollouts:PreviousStableRetentionSeconds (Rollouts/BlueGreenTests sees that happen).
        var retained = await GetAsync(api, model);
        Assert.Equal(1, retained["previous_stable"]!["version"]!.GetValue<long>());
        Assert.Equal(hyperion.InferenceReplicas, Version(retained, 1)!["ready_replicas"]!.GetValue<int>());
        for (var replica = 0; replica < hyperion.InferenceReplicas; replica++)
        {
            var (status, _, body) = await InferDigitsAsync(hyperion, replica, model, 1);
            Assert.True(status == HttpStatusCode.OK, $"inference-{replica}, version 1: {(int)status} {body}");
        }

        using (var response = await api.GetAsync($"/api/v1/deployments/{model}/revisions"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var revisions = (await ReadJsonAsync(response))["revisions"]!.AsArray();
            Assert.Equal([2L, 1L], revisions.Select(r => r!["revision"]!.GetValue<long>()));
            Assert.Equal([true, false], revisions.Select(r => r!["current"]!.GetValue<bool>()));
            Assert.Equal([2L, 1L], revisions.Select(r => r!["spec"]!["stable"]!.GetValue<long>()));
            Assert.All(revisions, r => Assert.StartsWith("key:bootstrap-admin", r!["created_by"]!.GetValue<string>()));
        }

        var audit = await AuditAsync(hyperion, model);
        var created = Assert.Single(audit, entry => entry.Action == "deployment.created");
        Assert.StartsWith("key:bootstrap-admin", created.Actor);
        Assert.Null(created.Before);
        Assert.Equal(1, created.After!["stable"]!.GetValue<long>());
        var updated = Assert.Single(audit, entry => entry.Action == "deployment.updated");
        Assert.Equal("revision 2", updated.Target);
        Assert.Equal(1, updated.Before!["stable"]!.GetValue<long>());
        Assert.Equal(2, updated.After!["stable"]!.GetValue<long>());
        var moves = audit.Where(entry => entry.Action == "deployment.serving_changed").ToList();
        Assert.All(moves, move => Assert.Equal("system:convergence", move.Actor));
        Assert.Equal(
            [(null, 1L), (1L, 2L)],
            moves.Select(move => (move.Before!["serving_stable"]?.GetValue<long>(), move.After!["serving_stable"]!.GetValue<long>())));
    }

    [Fact]
    public async Task Routing_table_carries_the_policy_in_effect_and_where_each_version_is_ready()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "route", versions: 3);
        var put = await PutOkAsync(api, model, """
            {"stable": 1, "canary": {"version": 2, "percent": 10}, "shadow": {"version": 3, "percent": 50},
             "cache": {"enabled": true, "ttl_seconds": 30}}
            """);
        Assert.Equal(10, put["canary"]!["percent"]!.GetValue<double>());

        var replicas = hyperion.InferenceReplicas;
        var status = await WaitForAsync(api, model, s => IsReadyOn(s, 1, replicas)
            && Version(s, 2)!["ready_replicas"]!.GetValue<int>() == replicas
            && Version(s, 3)!["ready_replicas"]!.GetValue<int>() == replicas, "every version ready everywhere");
        Assert.Equal(2, status["serving"]!["canary"]!.GetValue<long>());
        Assert.Equal(3, status["serving"]!["shadow"]!.GetValue<long>());
        Assert.Equal(30, status["cache"]!["ttl_seconds"]!.GetValue<int>());

        var routing = await RoutingAsync(hyperion);
        var endpoints = routing["replicas"]!.AsArray().Select(r => r!.AsObject()).ToList();
        for (var replica = 0; replica < replicas; replica++)
        {
            var endpoint = Assert.Single(endpoints, e => e["id"]!.GetValue<string>() == $"inference-{replica}");
            Assert.Equal(hyperion.GetEndpoint("inference", replica: replica).ToString().TrimEnd('/'), endpoint["http_url"]!.GetValue<string>());
            Assert.Equal(hyperion.GetEndpoint("inference", "grpc", replica).ToString().TrimEnd('/'), endpoint["grpc_url"]!.GetValue<string>());
            Assert.Equal("cpu", endpoint["pool"]!.GetValue<string>());
        }
        var route = RouteOf(routing, model)!;
        Assert.Equal(1, route["stable"]!.GetValue<long>());
        Assert.Equal(1, route["revision"]!.GetValue<long>());
        Assert.Equal(2, route["canary"]!["version"]!.GetValue<long>());
        Assert.Equal(10, route["canary"]!["percent"]!.GetValue<double>());
        Assert.Equal(3, route["shadow"]!["version"]!.GetValue<long>());
        Assert.Equal(50, route["shadow"]!["percent"]!.GetValue<double>());
        Assert.True(route["cache"]!["enabled"]!.GetValue<bool>());
        Assert.Equal(30, route["cache"]!["ttl_seconds"]!.GetValue<int>());
        var everyReplica = Enumerable.Range(0, replicas).Select(i => $"inference-{i}").ToArray();
        foreach (var version in new[] { 1L, 2L, 3L })
        {
            var readyOn = route["versions"]!.AsArray().Single(v => v!["version"]!.GetValue<long>() == version)!["ready_on"]!.AsArray();
            Assert.Equal(everyReplica, readyOn.Select(id => id!.GetValue<string>()).Order());
        }
    }

    [Fact]
    public async Task A_canary_plan_is_stored_as_given_and_starts_at_its_first_step()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "plan", versions: 2);
        var put = await PutOkAsync(api, model, """
            {"stable": 1, "canary": {"version": 2, "steps": [10, 50, 100], "step_seconds": 30, "min_requests": 100,
             "max_error_rate_delta": 0.02, "max_p95_latency_ratio": 2.0}}
            """);
        var canary = put["canary"]!;
        Assert.Equal(10, canary["percent"]!.GetValue<double>());
        Assert.Equal([10.0, 50.0, 100.0], canary["steps"]!.AsArray().Select(step => step!.GetValue<double>()));
        Assert.Equal(30, canary["step_seconds"]!.GetValue<int>());
        Assert.Equal(100, canary["min_requests"]!.GetValue<long>());
        Assert.Equal(0.02, canary["max_error_rate_delta"]!.GetValue<double>());
        Assert.Equal(2.0, canary["max_p95_latency_ratio"]!.GetValue<double>());

        using var response = await api.GetAsync($"/api/v1/deployments/{model}/revisions");
        var stored = (await ReadJsonAsync(response))["revisions"]![0]!["spec"]!["canary"]!.AsObject();
        // As given: the plan's fields and no derived percent.
        Assert.Equal(
            ["max_error_rate_delta", "max_p95_latency_ratio", "min_requests", "step_seconds", "steps", "version"],
            stored.Select(field => field.Key).Order(StringComparer.Ordinal));

        var routed = await WaitUntilAsync(
            async () => RouteOf(await RoutingAsync(hyperion), model),
            route => route?["canary"] is not null,
            "the canary arm in the routing table once version 2 is ready");
        Assert.Equal(10, routed!["canary"]!["percent"]!.GetValue<double>());
    }

    [Fact]
    public async Task Listing_shows_every_deployment_and_undeploying_unloads_and_keeps_history()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "undeploy", versions: 1);
        await PutOkAsync(api, model, """{"stable": 1}""");
        await WaitForAsync(api, model, status => IsReadyOn(status, 1, hyperion.InferenceReplicas), "version 1 ready");

        using (var list = await api.GetAsync("/api/v1/deployments"))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            var listed = (await ReadJsonAsync(list))["deployments"]!.AsArray();
            Assert.Contains(listed, d => d!["model"]!.GetValue<string>() == model && d["ready"]!.GetValue<bool>());
        }

        using (var deleted = await api.DeleteAsync($"/api/v1/deployments/{model}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        using (var gone = await api.GetAsync($"/api/v1/deployments/{model}"))
        {
            await RegistryTestData.ProblemAsync(gone, HttpStatusCode.NotFound);
        }
        Assert.Null(RouteOf(await RoutingAsync(hyperion), model));
        for (var replica = 0; replica < hyperion.InferenceReplicas; replica++)
        {
            var index = replica;
            await WaitUntilAsync(
                async () => (await InferDigitsAsync(hyperion, index, model, 1)).Status,
                status => status == HttpStatusCode.NotFound || status == HttpStatusCode.ServiceUnavailable,
                $"the model unloaded from inference-{index}");
        }

        // History stays, and a new deployment continues its numbering.
        var redeployed = await PutOkAsync(api, model, """{"stable": 1}""");
        Assert.Equal(2, redeployed["revision"]!.GetValue<long>());
        Assert.Contains(await AuditAsync(hyperion, model), entry => entry.Action == "deployment.deleted");
    }

    [Fact]
    public async Task Replicas_limit_places_a_deployment_on_that_many_live_replicas()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "placed", versions: 1);
        await PutOkAsync(api, model, """{"stable": 1, "replicas": 1}""");
        var status = await WaitForAsync(api, model, s => IsReadyOn(s, 1, replicas: 1), "version 1 ready on its one replica");

        var holder = Assert.Single(Version(status, 1)!["states"]!.AsArray())!["replica"]!.GetValue<string>();
        var expected = Hyperion.Orchestrator.Deployments.RendezvousAssignment.Choose(
            model, Enumerable.Range(0, hyperion.InferenceReplicas).Select(i => $"inference-{i}").ToList(), id => id, 1).Single();
        Assert.Equal(expected, holder);

        var route = RouteOf(await RoutingAsync(hyperion), model)!;
        Assert.Equal([holder], route["versions"]![0]!["ready_on"]!.AsArray().Select(id => id!.GetValue<string>()));
        var other = Enumerable.Range(0, hyperion.InferenceReplicas).Single(i => $"inference-{i}" != holder);
        Assert.Equal(HttpStatusCode.NotFound, (await InferDigitsAsync(hyperion, other, model, 1)).Status);
    }

    [Fact]
    public async Task Changes_are_announced_on_redis_for_replicas_and_gateways()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "notice", versions: 1);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(hyperion.GetConnectionString("cache"));
        var received = new ConcurrentQueue<(string Channel, string Message)>();
        var subscriber = redis.GetSubscriber();
        foreach (var channel in new[] { ControlPlaneChannels.DesiredChanged, ControlPlaneChannels.RoutingChanged })
        {
            await subscriber.SubscribeAsync(RedisChannel.Literal(channel), (from, message) => received.Enqueue((from.ToString(), message.ToString())));
        }

        await PutOkAsync(api, model, """{"stable": 1}""");
        await WaitForAsync(api, model, status => IsReadyOn(status, 1, hyperion.InferenceReplicas), "version 1 ready");
        await WaitUntilAsync(
            () => Task.FromResult(received.ToArray()),
            messages => messages.Contains((ControlPlaneChannels.DesiredChanged, model)) && messages.Contains((ControlPlaneChannels.RoutingChanged, model)),
            "a desired-set notice for the change and a routing notice once version 1 serves");
    }
}

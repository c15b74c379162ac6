using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Deployments;

namespace Hyperion.Tests.ControlPlane;

public sealed class ConvergencePlanTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UnixEpoch;

    [Fact]
    public void Every_live_replica_of_the_pool_holds_the_deployment_and_other_pools_hold_nothing()
    {
        var plan = Plan([Deployment("m", Spec(1))], [Replica("a"), Replica("b"), Replica("g", pool: "gpu")], []);
        Assert.Equal([1L], plan.DesiredFor("a").Select(v => v.Version));
        Assert.Equal([1L], plan.DesiredFor("b").Select(v => v.Version));
        Assert.Empty(plan.DesiredFor("g"));
        Assert.Empty(plan.DesiredFor("unknown"));
    }

    [Fact]
    public void While_stable_changes_the_serving_one_stays_desired_and_takes_traffic_until_the_new_one_is_ready_everywhere()
    {
        var deployment = Deployment("m", Spec(2), servingStable: 1);
        var halfway = Plan([deployment], [Replica("a"), Replica("b")], [Ready("a", "m", 1), Ready("b", "m", 1), Ready("a", "m", 2), Loading("b", "m", 2)]);
        Assert.Equal([1L, 2L], halfway.DesiredFor("b").Select(v => v.Version).Order());
        Assert.Equal(1, halfway.NextServingStable(deployment));
        Assert.Equal(1, halfway.Route(deployment).Stable);
        Assert.False(halfway.IsReady(deployment));

        var everywhere = Plan([deployment], [Replica("a"), Replica("b")], [Ready("a", "m", 1), Ready("b", "m", 1), Ready("a", "m", 2), Ready("b", "m", 2)]);
        Assert.Equal(2, everywhere.NextServingStable(deployment));

        var switched = deployment with { ServingStable = 2 };
        var after = Plan([switched], [Replica("a"), Replica("b")], [Ready("a", "m", 2), Ready("b", "m", 2)]);
        Assert.Equal([2L], after.DesiredFor("a").Select(v => v.Version));
        Assert.True(after.IsReady(switched));
    }

    [Fact]
    public void A_first_stable_serves_once_ready_on_every_replica()
    {
        var deployment = Deployment("m", Spec(1));
        Assert.Null(Plan([deployment], [Replica("a"), Replica("b")], [Ready("a", "m", 1)]).NextServingStable(deployment));
        Assert.Equal(1, Plan([deployment], [Replica("a"), Replica("b")], [Ready("a", "m", 1), Ready("b", "m", 1)]).NextServingStable(deployment));
        Assert.Null(Plan([deployment], [], []).NextServingStable(deployment));
    }

    [Fact]
    public void Canary_and_shadow_take_traffic_once_ready_on_one_replica_and_only_there()
    {
        var spec = Spec(1) with { Canary = new CanarySpec(Version: 2, Percent: 10, Steps: null, StepSeconds: null, MinRequests: null, MaxErrorRateDelta: null, MaxP95LatencyRatio: null), Shadow = new ShadowSpec(3, 100) };
        var deployment = Deployment("m", spec, servingStable: 1);
        var plan = Plan([deployment], [Replica("a"), Replica("b")],
            [Ready("a", "m", 1), Ready("b", "m", 1), Ready("a", "m", 2), Failed("b", "m", 2), Loading("a", "m", 3), Loading("b", "m", 3)]);
        var route = plan.Route(deployment);
        Assert.Equal(new TrafficArm(2, 10), route.Canary);
        Assert.Null(route.Shadow);
        Assert.Equal(["a"], route.Versions.Single(v => v.Version == 2).ReadyOn);
        Assert.Empty(route.Versions.Single(v => v.Version == 3).ReadyOn);
        Assert.Equal([1L, 2L, 3L], plan.DesiredFor("a").Select(v => v.Version).Order());
    }

    [Fact]
    public void A_plan_canary_routes_at_its_first_step()
    {
        var spec = Spec(1) with
        {
            Canary = new CanarySpec(Version: 2, Percent: null, Steps: [5, 50, 100], StepSeconds: 30, MinRequests: 100, MaxErrorRateDelta: 0.02, MaxP95LatencyRatio: 2),
        };
        var deployment = Deployment("m", spec, servingStable: 1);
        var plan = Plan([deployment], [Replica("a")], [Ready("a", "m", 1), Ready("a", "m", 2)]);
        Assert.Equal(new TrafficArm(2, 5), plan.Route(deployment).Canary);
    }

    [Fact]
    public void A_replicas_limit_places_the_deployment_by_rendezvous_hashing()
    {
        var replicas = Enumerable.Range(0, 6).Select(i => Replica($"inference-{i}")).ToList();
        var deployment = Deployment("m", Spec(1) with { Replicas = 2 });
        var plan = Plan([deployment], replicas, []);
        var chosen = plan.AssignedReplicas(deployment).Select(r => r.Id).ToList();
        Assert.Equal(2, chosen.Count);
        Assert.Equal(chosen, replicas.Select(r => r.Id).OrderByDescending(id => RendezvousAssignment.Score("m", id)).Take(2).Order(StringComparer.Ordinal));
        Assert.All(replicas, r => Assert.Equal(chosen.Contains(r.Id), plan.DesiredFor(r.Id).Count == 1));

        // A replica that is not chosen leaving moves nothing; a chosen one leaving is replaced by the next in rank.
        var bystander = replicas.First(r => !chosen.Contains(r.Id));
        Assert.Equal(chosen, Plan([deployment], [.. replicas.Except([bystander])], []).AssignedReplicas(deployment).Select(r => r.Id));
        var leaving = replicas.First(r => r.Id == chosen[0]);
        var next = Plan([deployment], [.. replicas.Except([leaving])], []).AssignedReplicas(deployment).Select(r => r.Id).ToList();
        Assert.Contains(chosen[1], next);
        Assert.DoesNotContain(leaving.Id, next);
    }

    [Fact]
    public void Rendezvous_spreads_models_over_the_pool()
    {
        var replicas = Enumerable.Range(0, 4).Select(i => $"r{i}").ToList();
        var firsts = Enumerable.Range(0, 200)
            .Select(i => RendezvousAssignment.Choose($"model-{i}", replicas, id => id, 1).Single())
            .GroupBy(id => id)
            .ToDictionary(group => group.Key, group => group.Count());
        Assert.Equal(4, firsts.Count);
        Assert.All(firsts.Values, count => Assert.InRange(count, 25, 75));
    }

    [Fact]
    public void The_desired_config_is_the_stored_one_with_the_overrides()
    {
        var stored = JsonNode.Parse("""
            {"name": "m", "platform": "onnxruntime", "max_batch_size": 8, "input": [{"name": "x", "datatype": "FP32", "dims": [4]}],
             "dynamic_batching": {"preferred_batch_size": [4], "max_queue_delay_microseconds": 100}, "version_policy": {"latest": {"num_versions": 2}}}
            """)!.AsObject();
        var spec = Spec(1) with
        {
            MaxBatchSize = 16,
            Batching = new BatchingSpec(500, null, 64, null),
            Instances = new InstancesSpec(2, "cpu"),
        };
        var config = VersionConfigOverrides.Apply("m", stored, spec);
        Assert.Equal(16, config["max_batch_size"]!.GetValue<int>());
        Assert.Equal(500, config["dynamic_batching"]!["max_queue_delay_microseconds"]!.GetValue<long>());
        Assert.Equal(64, config["dynamic_batching"]!["max_queue_size"]!.GetValue<int>());
        Assert.Equal([4], config["dynamic_batching"]!["preferred_batch_size"]!.AsArray().Select(v => v!.GetValue<int>()));
        Assert.Equal("""[{"count":2,"kind":"cpu"}]""", config["instance_group"]!.ToJsonString());
        Assert.Null(config["version_policy"]);
        Assert.Equal("x", config["input"]![0]!["name"]!.GetValue<string>());
        // The stored config is not touched.
        Assert.Equal(8, stored["max_batch_size"]!.GetValue<int>());
        Assert.NotNull(stored["version_policy"]);
    }

    [Fact]
    public void Batching_overrides_add_a_dynamic_batcher_to_a_version_without_one()
    {
        var config = VersionConfigOverrides.Apply("m", new JsonObject { ["max_batch_size"] = 4 }, Spec(1) with { Batching = new BatchingSpec(200, [2, 4], null, null) });
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"max_queue_delay_microseconds": 200, "preferred_batch_size": [2, 4]}"""), config["dynamic_batching"]), config.ToJsonString());
    }

    private static ConvergencePlan Plan(IReadOnlyList<DeploymentRecord> deployments, IReadOnlyList<LiveReplica> replicas, IReadOnlyList<ReplicaVersionState> states)
    {
        var artifacts = new Dictionary<(string, long), VersionArtifact>();
        foreach (var deployment in deployments)
        {
            foreach (var version in ConvergencePlan.HeldVersions(deployment))
            {
                artifacts[(deployment.Model, version)] = new VersionArtifact($"sha256:{new string('0', 63)}{version}", 10, []);
            }
        }
        return new ConvergencePlan(new ClusterSnapshot(deployments, replicas, states, artifacts));
    }

    private static DeploymentSpec Spec(long stable) =>
        new(Stable: stable, Canary: null, Shadow: null, Cache: null, Batching: null, MaxBatchSize: null, Instances: null, Pool: "cpu", Replicas: null);

    private static DeploymentRecord Deployment(string model, DeploymentSpec spec, long? servingStable = null) =>
        new(Model: model, Revision: 1, Spec: spec, ServingStable: servingStable, UpdatedAt: Now);

    private static LiveReplica Replica(string id, string pool = "cpu") =>
        new(Id: id, Pool: pool, HttpUrl: $"http://{id}:8000", GrpcUrl: null, StartedAt: Now, LastSeen: Now);

    private static ReplicaVersionState Ready(string replica, string model, long version) => new(replica, model, version, ReplicaModelPhase.Ready, null);

    private static ReplicaVersionState Loading(string replica, string model, long version) => new(replica, model, version, ReplicaModelPhase.Loading, null);

    private static ReplicaVersionState Failed(string replica, string model, long version) => new(replica, model, version, ReplicaModelPhase.Failed, "broken");
}

using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.TestSupport;
using static Hyperion.Tests.Rollouts.RolloutTestApi;

namespace Hyperion.Tests.Rollouts;

/// <summary>
/// The quality gates on live traffic: a canary that answers as fast as stable and never fails, but predicts the wrong
/// digit (testdata's digits_shifted), is rolled back by its accuracy on the labels a client sends, or by its agreement
/// with stable on shadow copies; a right canary is promoted once its labels are in. One load loop and a quarter of
/// the requests captured: enough rows for the gates within seconds, without the capture, drift and quality work of
/// thousands of captures a second starving the graph on two shared cores.
/// </summary>
[Collection(RolloutAppCollection.Name)]
public sealed class RolloutQualityGateTests(RolloutAppFixture hyperion)
{
    /// <summary>The sample request's two images, as scikit-learn's digits data set labels them.</summary>
    private static readonly JsonArray TrueLabels = new([.. JsonNode.Parse(File.ReadAllText(TestPaths.Sample("digits", "expected.json")))!["true_label"]!.AsArray()
        .Select(label => (JsonNode?)label!.GetValue<long>())]);

    [Fact]
    public async Task A_fast_but_wrong_canary_is_rolled_back_by_its_accuracy_on_the_labels_clients_send()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "wrong", "digits", "digits_shifted");
        await DeployStableAsync(hyperion, api, model, 1);
        await using var load = GatewayLoad.Start(hyperion, model, loops: 1);
        await using var labels = LabelFeed.Start(hyperion, model, load);

        // A long step: the rollback must come from the accuracy gate, not from the step's time running out.
        await DeploymentTestSupport.PutOkAsync(api, model, """
            {"stable": 1, "canary": {"version": 2, "steps": [50, 100], "step_seconds": 600, "min_requests": 20, "max_p95_latency_ratio": 5,
             "max_accuracy_drop": 0.1, "min_quality_samples": 20}, "monitoring": {"sample_percent": 25, "prediction_output": "label"}}
            """);
        var rolledBack = await DeploymentTestSupport.WaitForAsync(api, model, status => State(status) == "rolled_back", "the wrong canary rolled back");
        await load.StopAsync();

        var reason = Rollout(rolledBack)!["reason"]!.GetValue<string>();
        Assert.Contains("accuracy 0.0 % on canary version 2", reason);
        Assert.Contains("vs 100.0 % on stable version 1", reason);
        Assert.Contains("100 points below stable, more than max_accuracy_drop 0.1 (10 points)", reason);
        Assert.Null(rolledBack["canary"]);
        // It never failed a request: the error gate had nothing to say.
        Assert.True(load.Failures.Count == 0, "failed requests: " + GatewayLoad.Describe(load.Failures));
        Assert.Contains(load.Results, result => result.Version == "2");

        var audit = (await AuditAsync(hyperion, model)).Single(entry => entry.Action == "rollout.rolled_back");
        Assert.Equal(reason, audit.Details["reason"]!.GetValue<string>());
        var quality = audit.Details["evidence"]!["quality"]!;
        Assert.True(quality["canary"]!["labelled"]!.GetValue<long>() >= 20, quality.ToJsonString());
        Assert.Equal(0.0, quality["canary"]!["accuracy"]!.GetValue<double>());
        Assert.Equal(1.0, quality["stable"]!["accuracy"]!.GetValue<double>());
        Assert.Equal(1.0, quality["accuracy_drop"]!.GetValue<double>());
        Assert.Equal(0.1, audit.Details["evidence"]!["gates"]!["max_accuracy_drop"]!.GetValue<double>());

        var webhook = await WebhookAsync(hyperion, model, "rollout.rolled_back");
        Assert.Equal(reason, webhook["data"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_canary_that_disagrees_with_stable_on_shadow_copies_is_rolled_back_without_any_label()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "disagree", "digits", "digits_shifted");
        await DeployStableAsync(hyperion, api, model, 1);
        await using var load = GatewayLoad.Start(hyperion, model, loops: 1);

        await DeploymentTestSupport.PutOkAsync(api, model, """
            {"stable": 1, "canary": {"version": 2, "steps": [50, 100], "step_seconds": 600, "min_requests": 20, "max_p95_latency_ratio": 5,
             "min_agreement": 0.9, "min_quality_samples": 20}, "shadow": {"version": 2}, "monitoring": {"sample_percent": 25}}
            """);
        var rolledBack = await DeploymentTestSupport.WaitForAsync(api, model, status => State(status) == "rolled_back", "the disagreeing canary rolled back");
        await load.StopAsync();

        var rollout = Rollout(rolledBack)!;
        Assert.Matches(@"^canary version 2 predicts stable's class for 0\.0 % of \d+ rows copied to it as a shadow since the rollout started \(0 agreed\), under min_agreement 0\.9 \(90\.0 %\)",
            rollout["reason"]!.GetValue<string>());
        var agreement = rollout["quality"]!["agreement"]!;
        Assert.True(agreement["compared"]!.GetValue<long>() >= 20, rollout.ToJsonString());
        Assert.Equal(0, agreement["agreed"]!.GetValue<long>());
        Assert.True(load.Failures.Count == 0, "failed requests: " + GatewayLoad.Describe(load.Failures));
    }

    [Fact]
    public async Task A_right_canary_waits_for_its_labels_then_is_promoted_with_both_gates_in_the_evidence()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "right", "digits", "digits");
        await DeployStableAsync(hyperion, api, model, 1);
        await using var load = GatewayLoad.Start(hyperion, model, loops: 1);

        await DeploymentTestSupport.PutOkAsync(api, model, """
            {"stable": 1, "canary": {"version": 2, "steps": [50, 100], "step_seconds": 1, "min_requests": 20, "max_p95_latency_ratio": 5,
             "max_accuracy_drop": 0.05, "min_agreement": 0.9, "min_quality_samples": 20}, "shadow": {"version": 2}, "monitoring": {"sample_percent": 25}}
            """);
        // No label yet: the step's time passes, the rollout waits and says for what.
        var waiting = await DeploymentTestSupport.WaitForAsync(api, model,
            status => Rollout(status)?["analysis"]?.GetValue<string>() is { } analysis && analysis.Contains("but waiting for labels"), "the rollout waiting for labels");
        Assert.Equal(0, Rollout(waiting)!["step"]!.GetValue<int>());

        await using var labels = LabelFeed.Start(hyperion, model, load);
        var promoted = await DeploymentTestSupport.WaitForAsync(api, model, status => State(status) == "promoted", "the right canary promoted");
        await load.StopAsync();

        var quality = Rollout(promoted)!["quality"]!;
        Assert.Equal(1.0, quality["canary"]!["accuracy"]!.GetValue<double>());
        Assert.Equal(1.0, quality["stable"]!["accuracy"]!.GetValue<double>());
        Assert.Equal(1.0, quality["agreement_rate"]!.GetValue<double>());
        Assert.True(load.Failures.Count == 0, "failed requests: " + GatewayLoad.Describe(load.Failures));
    }

    /// <summary>A client sending ground truth for every answered request, a moment after the answer, until stopped.</summary>
    private sealed class LabelFeed : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        private LabelFeed(HttpClient api, string model, GatewayLoad load) => _loop = Task.Run(() => LoopAsync(api, model, load));

        public static LabelFeed Start(RolloutAppFixture hyperion, string model, GatewayLoad load) => new(hyperion.CreateApiClient(), model, load);

        private async Task LoopAsync(HttpClient api, string model, GatewayLoad load)
        {
            var sent = new HashSet<string>(StringComparer.Ordinal);
            using (api)
            {
                while (!_stop.IsCancellationRequested)
                {
                    var items = new JsonArray();
                    foreach (var result in load.Results)
                    {
                        if (result is { Ok: true, RequestId: { } id } && sent.Add(id))
                        {
                            items.Add(new JsonObject { ["request_id"] = id, ["label"] = TrueLabels.DeepClone() });
                        }
                    }
                    if (items.Count > 0)
                    {
                        using var response = await api.PostAsync("/api/v1/feedback",
                            new StringContent(new JsonObject { ["model"] = model, ["items"] = items }.ToJsonString(), Encoding.UTF8, "application/json"));
                        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
                    }
                    try
                    {
                        await Task.Delay(500, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }
    }
}

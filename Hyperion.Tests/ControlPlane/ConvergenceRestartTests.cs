using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using System.Diagnostics;
using System.Net;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using static Hyperion.Tests.ControlPlane.DeploymentTestSupport;

namespace Hyperion.Tests.ControlPlane;

/// <summary>
/// A graph of its own: these tests kill and restart replicas and the orchestrator. Its orchestrator also sends
/// <c>deployment.updated</c> webhooks to <see cref="Webhooks"/> (started before the graph, stopped after it).
/// </summary>
public sealed class ConvergenceRestartFixture : HyperionAppFixture, IAsyncLifetime
{
    public const string WebhookPath = "/hooks/deployments";

    public WebhookReceiver Webhooks { get; private set; } = null!;

    // Re-implemented (xUnit calls these through the interface) so the receiver outlives the graph.
    async Task IAsyncLifetime.InitializeAsync()
    {
        Webhooks = await WebhookReceiver.StartAsync();
        try
        {
            await InitializeAsync();
        }
        catch
        {
            await Webhooks.DisposeAsync();
            throw;
        }
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await Webhooks.DisposeAsync();
    }

    protected override void ConfigureGraph(IDistributedApplicationTestingBuilder builder)
    {
        builder.CreateResourceBuilder((ProjectResource)builder.Resources.Single(resource => resource.Name == "orchestrator"))
            .WithEnvironment("Orchestrator__Webhooks__0__Name", "deployments")
            .WithEnvironment("Orchestrator__Webhooks__0__Url", Webhooks.UrlOf(WebhookPath))
            .WithEnvironment("Orchestrator__Webhooks__0__Secret", "deployment-webhook-secret-0123456789")
            .WithEnvironment("Orchestrator__Webhooks__0__Events__0", "deployment.updated");
    }
}

[CollectionDefinition(Name)]
public sealed class ConvergenceRestartCollection : ICollectionFixture<ConvergenceRestartFixture>
{
    public const string Name = "Hyperion graph (convergence restarts)";
}

/// <summary>Replicas and the orchestrator restart; deployments come back as they were without anyone acting.</summary>
[Collection(ConvergenceRestartCollection.Name)]
public sealed class ConvergenceRestartTests(ConvergenceRestartFixture hyperion)
{
    [Fact]
    public async Task A_killed_replica_converges_again_from_its_own_files()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "crash", versions: 1);
        await PutOkAsync(api, model, """{"stable": 1}""");
        await WaitForAsync(api, model, status => IsReadyOn(status, 1, hyperion.InferenceReplicas), "version 1 ready everywhere");
        var downloadsBefore = await CountLinesAsync("inference-1", $"Downloading model {model} version 1");
        Assert.Equal(1, downloadsBefore);

        var before = hyperion.Snapshot("inference-1");
        Process.GetProcessById(hyperion.ProcessId("inference-1")!.Value).Kill();

        await hyperion.WaitForAsync("inference-1", s => s.Restarts == before.Restarts + 1 && s.IsHealthy,
            HyperionAppFixture.StartTimeout, "restarted and healthy");
        await WaitForAsync(api, model, status => IsReadyOn(status, 1, hyperion.InferenceReplicas), "version 1 ready on every replica again");
        var (code, labels, body) = await InferDigitsAsync(hyperion, 1, model, 1);
        Assert.True(code == HttpStatusCode.OK, $"inference-1: {(int)code} {body}");
        Assert.Equal(ExpectedDigitLabels, labels);
        // Its repository folder survived the restart and the file's digest matched: nothing was downloaded again. (The
        // console log is the restarted process's own, as on the dashboard: it has the replica joining, and no download.)
        Assert.Equal(1, await CountLinesAsync("inference-1", "Replica inference-1 joins pool"));
        Assert.Equal(0, await CountLinesAsync("inference-1", $"Downloading model {model} version 1"));
    }

    [Fact]
    public async Task Restarted_replicas_register_again_and_load_what_changed_while_they_were_down()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "restart", versions: 2);
        await PutOkAsync(api, model, """{"stable": 1}""");
        await WaitForAsync(api, model, status => IsReadyOn(status, 1, hyperion.InferenceReplicas), "version 1 ready everywhere");

        await hyperion.StopAsync("inference");
        try
        {
            var empty = await WaitForAsync(api, model, status => Version(status, 1)!["replicas"]!.GetValue<int>() == 0, "no live replica");
            Assert.False(empty["ready"]!.GetValue<bool>());
            // Changed while no replica listens: a revision like any other; stable stays where it served.
            var changed = await PutOkAsync(api, model, """{"stable": 2}""");
            Assert.Equal(1, changed["serving"]!["stable"]!.GetValue<long>());
        }
        finally
        {
            await hyperion.StartAsync("inference");
        }
        await hyperion.WaitForHealthyAsync("inference");

        await WaitForAsync(api, model, status => IsReadyOn(status, 2, hyperion.InferenceReplicas), "version 2 ready and serving on every replica");
        for (var replica = 0; replica < hyperion.InferenceReplicas; replica++)
        {
            var (code, labels, body) = await InferDigitsAsync(hyperion, replica, model, 2);
            Assert.True(code == HttpStatusCode.OK, $"inference-{replica}: {(int)code} {body}");
            Assert.Equal(ExpectedDigitLabels, labels);
        }
    }

    [Fact]
    public async Task Replicas_keep_serving_while_the_orchestrator_is_down_and_deployments_come_back_with_it()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "orchestrator", versions: 2);
        var put = await PutOkAsync(api, model, """{"stable": 1, "canary": {"version": 2, "percent": 25}, "cache": {"enabled": true}}""");
        var ready = await WaitForAsync(api, model, status => IsReadyOn(status, 1, hyperion.InferenceReplicas)
            && Version(status, 2)!["ready_replicas"]!.GetValue<int>() == hyperion.InferenceReplicas, "both versions ready everywhere");

        await hyperion.StopAsync("orchestrator");
        try
        {
            // Heartbeats fail; the replicas keep what they loaded.
            await Task.Delay(TimeSpan.FromSeconds(5));
            for (var replica = 0; replica < hyperion.InferenceReplicas; replica++)
            {
                foreach (var version in new[] { 1L, 2L })
                {
                    var (code, labels, body) = await InferDigitsAsync(hyperion, replica, model, version);
                    Assert.True(code == HttpStatusCode.OK, $"inference-{replica} version {version} with the orchestrator down: {(int)code} {body}");
                    Assert.Equal(ExpectedDigitLabels, labels);
                }
            }
        }
        finally
        {
            await hyperion.StartAsync("orchestrator");
        }
        await hyperion.WaitForHealthyAsync("orchestrator");

        var back = await WaitForAsync(api, model, status => IsReadyOn(status, 1, hyperion.InferenceReplicas)
            && Version(status, 2)!["ready_replicas"]!.GetValue<int>() == hyperion.InferenceReplicas, "the deployment ready again");
        Assert.Equal(put["revision"]!.GetValue<long>(), back["revision"]!.GetValue<long>());
        Assert.Equal(ready["serving"]!.ToJsonString(), back["serving"]!.ToJsonString());
        Assert.Equal(ready["cache"]!.ToJsonString(), back["cache"]!.ToJsonString());
        Assert.Equal(25, back["canary"]!["percent"]!.GetValue<double>());
    }

    [Fact]
    public async Task Deployments_change_while_redis_is_down()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "noredis", versions: 1);
        await hyperion.StopAsync("cache");
        try
        {
            // Notices are lost; the change is not, and replicas pick it up on their next heartbeat.
            var put = await PutOkAsync(api, model, """{"stable": 1}""");
            Assert.True(put["changed"]!.GetValue<bool>());
            await WaitForAsync(api, model, status => IsReadyOn(status, 1, hyperion.InferenceReplicas), "version 1 ready without Redis");
        }
        finally
        {
            await hyperion.StartAsync("cache");
        }
        await hyperion.WaitForHealthyAsync("cache");
    }

    [Fact]
    public async Task Each_deployment_change_is_sent_to_webhooks_subscribed_to_deployment_updated()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "hooked", versions: 2);
        await PutOkAsync(api, model, """{"stable": 1}""");
        await PutOkAsync(api, model, """{"stable": 1}""");
        await PutOkAsync(api, model, """{"stable": 2}""");
        using (var deleted = await api.DeleteAsync($"/api/v1/deployments/{model}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        var received = await hyperion.Webhooks.WaitForAsync(
            all => Events(all, model).Any(e => e["data"]!["change"]!.GetValue<string>() == "deleted"), DeploymentTestSupport.ConvergeTimeout, "the deployment.updated events up to the deletion");
        var events = Events(received, model);
        // The no-op PUT sent nothing.
        Assert.Equal(["created", "updated", "deleted"], events.Select(e => e["data"]!["change"]!.GetValue<string>()));
        Assert.Equal(1, events[0]["data"]!["after"]!["stable"]!.GetValue<long>());
        Assert.Equal(1, events[0]["data"]!["revision"]!.GetValue<long>());
        Assert.Equal(2, events[1]["data"]!["after"]!["stable"]!.GetValue<long>());
        Assert.Equal(1, events[1]["data"]!["before"]!["stable"]!.GetValue<long>());
        Assert.Equal(1, events[1]["data"]!["previous_revision"]!.GetValue<long>());
        Assert.Equal(2, events[2]["data"]!["previous_revision"]!.GetValue<long>());
        Assert.All(events, e => Assert.StartsWith("key:bootstrap-admin", e["actor"]!.GetValue<string>()));
    }

    [Fact]
    public async Task An_artifact_that_cannot_be_fetched_is_failed_with_the_reason_and_retried_until_it_can()
    {
        using var api = hyperion.CreateApiClient();
        var model = RegistryTestData.UniqueName("unfetchable");
        await RegistryTestData.CreateModelAsync(api, model);
        // A file no other test in this graph uploads: the store keeps one blob per content.
        var artifact = RegistryTestData.Model("mlp_small");
        var digest = (await RegistryTestData.UploadOkAsync(api, model, artifact)).GetProperty("digest").GetString()!;
        var hex = digest["sha256:".Length..];
        var blob = Path.Combine(hyperion.StateDirectory, "artifacts", "sha256", hex[..2], hex);
        Assert.True(File.Exists(blob), $"the artifact store keeps {digest} at {blob}");

        var mode = File.GetUnixFileMode(blob);
        File.SetUnixFileMode(blob, mode | UnixFileMode.UserWrite);
        var damaged = (byte[])artifact.Clone();
        damaged[damaged.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(blob, damaged);
        try
        {
            await PutOkAsync(api, model, """{"stable": 1}""");
            var failed = await WaitForAsync(api, model,
                status => Version(status, 1)!["states"]!.AsArray().All(state => state!["state"]!.GetValue<string>() == "failed"),
                "version 1 failed on every replica");
            Assert.All(Version(failed, 1)!["states"]!.AsArray(), state => Assert.StartsWith("download failed: ", state!["reason"]!.GetValue<string>()));
            Assert.False(failed["ready"]!.GetValue<bool>());
            Assert.Null(failed["serving"]!["stable"]);
            for (var replica = 0; replica < hyperion.InferenceReplicas; replica++)
            {
                using var client = hyperion.CreateHttpClient("inference", replica: replica);
                Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/v2/models/{model}/versions/1/ready")).StatusCode);
            }
        }
        finally
        {
            await File.WriteAllBytesAsync(blob, artifact);
            File.SetUnixFileMode(blob, mode);
        }

        // Retried with back-off: once the artifact can be read again, it loads without anyone acting.
        await WaitForAsync(api, model, status => IsReadyOn(status, 1, hyperion.InferenceReplicas), "version 1 ready once the artifact is whole");
    }

    private static List<System.Text.Json.Nodes.JsonNode> Events(IReadOnlyList<ReceivedWebhook> received, string model) =>
        [.. received
            .Where(r => r.Path == ConvergenceRestartFixture.WebhookPath && r.Header("X-Hyperion-Event") == "deployment.updated")
            .Select(r => System.Text.Json.Nodes.JsonNode.Parse(r.Body)!)
            .Where(e => e["model"]?.GetValue<string>() == model)
            .DistinctBy(e => e["id"]!.GetValue<string>())
            .OrderBy(e => DateTimeOffset.Parse(e["occurred_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture))];

    private async Task<int> CountLinesAsync(string instance, string text) =>
        (await hyperion.LogLinesAsync(instance)).Count(line => line.Content.Contains(text, StringComparison.Ordinal));
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.Gateway;
using static Hyperion.Tests.Pipelines.PipelineTestApi;

namespace Hyperion.Tests.Pipelines;

/// <summary>
/// <c>/api/v1/pipelines</c> on the real graph: revisions (an identical PUT makes none), reads by revision, history,
/// audit, the routing table the gateways read, deletion, scopes, and every mistake a definition can hold answered
/// 400 under the field, naming what is wrong.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class PipelineDefinitionTests(GatewayFixture hyperion)
{
    [Fact]
    public async Task Every_change_is_a_new_revision_audited_and_in_the_routing_table_and_an_identical_put_changes_nothing()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "identity_fp32", "pipe-def");
        var pipeline = RegistryTestData.UniqueName("chain");
        var first = $$$"""{"steps": [{"name": "neg", "model": "{{{model}}}"}, {"name": "back", "model": "{{{model}}}", "inputs": {"INPUT0": "neg.OUTPUT0"}}]}""";

        using (var created = await PutAsync(api, pipeline, first))
        {
            var body = await created.Content.ReadFromJsonAsync<JsonObject>();
            Assert.True(created.StatusCode == HttpStatusCode.Created, $"{(int)created.StatusCode} {body}");
            Assert.Equal($"/api/v1/pipelines/{pipeline}", created.Headers.Location?.OriginalString);
            Assert.Equal(1, body!["revision"]!.GetValue<long>());
            Assert.True(body["changed"]!.GetValue<bool>());
            Assert.Equal("neg.OUTPUT0", body["steps"]![1]!["inputs"]!["INPUT0"]!.GetValue<string>());
        }
        var same = await PutOkAsync(api, pipeline, first, HttpStatusCode.OK);
        Assert.Equal(1, same["revision"]!.GetValue<long>());
        Assert.False(same["changed"]!.GetValue<bool>());

        var second = first.TrimEnd('}') + """, "outputs": {"restored": "back.OUTPUT0", "negated": "neg.OUTPUT0"}}""";
        var updated = await PutOkAsync(api, pipeline, second, HttpStatusCode.OK);
        Assert.Equal(2, updated["revision"]!.GetValue<long>());
        Assert.True(updated["changed"]!.GetValue<bool>());

        var current = await api.GetFromJsonAsync<JsonObject>($"/api/v1/pipelines/{pipeline}");
        Assert.Equal(2, current!["revision"]!.GetValue<long>());
        Assert.True(current["current"]!.GetValue<bool>());
        Assert.Equal("back.OUTPUT0", current["outputs"]!["restored"]!.GetValue<string>());
        var old = await api.GetFromJsonAsync<JsonObject>($"/api/v1/pipelines/{pipeline}?revision=1");
        Assert.Equal(1, old!["revision"]!.GetValue<long>());
        Assert.False(old["current"]!.GetValue<bool>());
        Assert.Null(old["outputs"]);
        var missing = await RegistryTestData.ProblemAsync(await api.GetAsync($"/api/v1/pipelines/{pipeline}?revision=7"), HttpStatusCode.NotFound);
        Assert.Contains("has no revision 7; its revisions are 1 to 2", missing.GetProperty("detail").GetString());
        var malformed = await RegistryTestData.ProblemAsync(await api.GetAsync($"/api/v1/pipelines/{pipeline}?revision=latest"), HttpStatusCode.BadRequest);
        Assert.Contains("revision must be a revision number", malformed.GetProperty("detail").GetString());

        var list = await api.GetFromJsonAsync<JsonObject>("/api/v1/pipelines");
        Assert.Contains(list!["pipelines"]!.AsArray(), entry => entry!["name"]!.GetValue<string>() == pipeline && entry["revision"]!.GetValue<long>() == 2);
        var history = await api.GetFromJsonAsync<JsonObject>($"/api/v1/pipelines/{pipeline}/revisions");
        Assert.Equal([2L, 1L], history!["revisions"]!.AsArray().Select(revision => revision!["revision"]!.GetValue<long>()));

        // The gateways' routing table carries the current revision's plan: steps in order, each input's source resolved.
        var route = (await DeploymentTestSupport.RoutingAsync(hyperion))["pipelines"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == pipeline)!;
        Assert.Equal(2, route["revision"]!.GetValue<long>());
        Assert.Equal(["neg", "back"], route["steps"]!.AsArray().Select(step => step!["name"]!.GetValue<string>()));
        var source = route["steps"]![0]!["inputs"]![0]!;
        Assert.Equal("INPUT0", source["input"]!.GetValue<string>());
        Assert.Null(source["step"]);
        Assert.Equal(["restored", "negated"], route["outputs"]!.AsArray().Select(output => output!["name"]!.GetValue<string>()));

        using (var deleted = await api.DeleteAsync($"/api/v1/pipelines/{pipeline}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        await RegistryTestData.ProblemAsync(await api.GetAsync($"/api/v1/pipelines/{pipeline}"), HttpStatusCode.NotFound);
        await RegistryTestData.ProblemAsync(await api.DeleteAsync($"/api/v1/pipelines/{pipeline}"), HttpStatusCode.NotFound);
        Assert.DoesNotContain((await DeploymentTestSupport.RoutingAsync(hyperion))["pipelines"]!.AsArray(), p => p!["name"]!.GetValue<string>() == pipeline);
        // Its revisions stay: the same name starts again after them.
        var again = await PutOkAsync(api, pipeline, first, HttpStatusCode.Created);
        Assert.Equal(3, again["revision"]!.GetValue<long>());

        var audit = await api.GetFromJsonAsync<JsonObject>("/api/v1/audit?limit=1000");
        var entries = audit!["entries"]!.AsArray().Where(entry => entry!["target"]?.GetValue<string>() == $"pipeline {pipeline}").Reverse().ToList();
        Assert.Equal(["pipeline.created", "pipeline.updated", "pipeline.deleted", "pipeline.created"], entries.Select(entry => entry!["action"]!.GetValue<string>()));
        Assert.Equal(1, entries[1]!["details"]!["previous_revision"]!.GetValue<long>());
        Assert.Equal("back.OUTPUT0", entries[1]!["after"]!["outputs"]!["restored"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_pinned_version_is_neither_deleted_nor_archived_and_an_archived_version_cannot_be_pinned()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "identity_fp32", "pipe-pin", versions: 2);
        var pipeline = RegistryTestData.UniqueName("pinned");
        await PutOkAsync(api, pipeline, $$$"""{"steps": [{"name": "neg", "model": "{{{model}}}", "version": 1}]}""", HttpStatusCode.Created);

        var deleting = await RegistryTestData.ProblemAsync(await api.DeleteAsync($"/api/v1/models/{model}/versions/1"), HttpStatusCode.Conflict);
        Assert.Contains($"it is used by pipeline '{pipeline}' (step 'neg')", deleting.GetProperty("detail").GetString());
        Assert.Contains($"PUT /api/v1/pipelines/{pipeline}", deleting.GetProperty("detail").GetString());
        var archiving = await RegistryTestData.ProblemAsync(
            await api.PostAsJsonAsync($"/api/v1/models/{model}/versions/1/stage", new { stage = "archived" }), HttpStatusCode.Conflict);
        Assert.Contains($"pipeline '{pipeline}' (step 'neg')", archiving.GetProperty("detail").GetString());

        using (var archived = await api.PostAsJsonAsync($"/api/v1/models/{model}/versions/2/stage", new { stage = "archived" }))
        {
            Assert.Equal(HttpStatusCode.OK, archived.StatusCode);
        }
        using var repinned = await PutAsync(api, pipeline, $$$"""{"steps": [{"name": "neg", "model": "{{{model}}}", "version": 2}]}""");
        var refused = await RegistryTestData.ProblemAsync(repinned, HttpStatusCode.BadRequest);
        Assert.Contains($"version 2 of '{model}' is archived", refused.GetProperty("errors").GetProperty("steps[0].version")[0].GetString());

        using (var deleted = await api.DeleteAsync($"/api/v1/pipelines/{pipeline}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        using var freed = await api.DeleteAsync($"/api/v1/models/{model}/versions/1");
        Assert.Equal(HttpStatusCode.NoContent, freed.StatusCode);
    }

    [Fact]
    public async Task Changing_pipelines_needs_deploy_scope()
    {
        using var admin = hyperion.CreateApiClient();
        using var created = await admin.PostAsJsonAsync("/api/v1/keys", new { name = $"infer-only-{Guid.NewGuid():N}", scopes = new[] { "infer" } });
        var key = (await created.Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
        using var inferOnly = hyperion.CreateApiClient(key: key);
        using var put = await PutAsync(inferOnly, RegistryTestData.UniqueName("denied"), """{"steps": [{"name": "a", "model": "m"}]}""");
        Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
        using var list = await inferOnly.GetAsync("/api/v1/pipelines");
        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
    }

    [Fact]
    public async Task Each_mistake_in_a_definition_is_answered_400_under_its_field_naming_what_is_wrong()
    {
        using var api = hyperion.CreateApiClient();
        var fp32 = await RegisterAsync(api, "identity_fp32", "pipe-fp32", versions: 2);
        var fp64 = await RegisterAsync(api, "identity_fp64", "pipe-fp64");
        var mlp = await RegisterAsync(api, "mlp_small", "pipe-mlp");
        var empty = RegistryTestData.UniqueName("pipe-empty");
        await RegistryTestData.CreateModelAsync(api, empty);

        (string Body, string Field, string Says)[] cases =
        [
            ("""{"steps": []}""", "steps", "is required"),
            ($$$"""{"steps": [{"name": "a", "model": "no-such-model"}]}""", "steps[0].model", "model 'no-such-model' is not registered"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{empty}}}"}]}""", "steps[0].model", $"model '{empty}' has no versions yet"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}", "version": 9}]}""", "steps[0].version", $"model '{fp32}' has no version 9; its versions are '1', '2'"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "a", "model": "{{{fp32}}}"}]}""", "steps[1].name", "'a' is also the name of steps[0]; step names must be unique"),
            ($$$"""{"steps": [{"name": "a.b", "model": "{{{fp32}}}"}]}""", "steps[0].name", "no '.'"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}", "inputs": {"INPUT0": "ghost.OUTPUT0"}}]}""", "steps[0].inputs.INPUT0", "reads from step 'ghost', which is not in the pipeline; the steps are 'a'"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}", "inputs": {"INPUT0": "$request.INPUT0", "extra": "$request.x"}}]}""", "steps[0].inputs.extra", $"model '{fp32}' version 2 has no input 'extra'; its inputs are 'INPUT0'"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}", "inputs": {}}]}""", "steps[0].inputs", "gives no source for"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "inputs": {"INPUT0": "a.logits"}}]}""", "steps[1].inputs.INPUT0", "has no output 'logits'; its outputs are 'OUTPUT0'"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "inputs": {"INPUT0": "nonsense"}}]}""", "steps[1].inputs.INPUT0", "must be \"$request.<input>\""),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp64}}}", "inputs": {"INPUT0": "a.OUTPUT0"}}]}""", "steps[1].inputs.INPUT0", $"step 'a' output 'OUTPUT0' is FP32, but model '{fp64}' version 1 input 'INPUT0' takes FP64"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{mlp}}}", "inputs": {"input": "a.OUTPUT0"}}]}""", "steps[1].inputs.input", "has shape [-1, 4], but model"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp64}}}"}]}""", "steps[1].model", "also goes to"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}", "inputs": {"INPUT0": "b.OUTPUT0"}}, {"name": "b", "model": "{{{fp32}}}", "inputs": {"INPUT0": "a.OUTPUT0"}}]}""", "steps", "the steps a → b → a form a cycle"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}", "inputs": {"INPUT0": "a.OUTPUT0"}}]}""", "steps[0].inputs.INPUT0", "own output"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}], "outputs": {"y": "a.OUTPUT9"}}""", "outputs.y", "is output 'OUTPUT9' of step 'a', which nothing produces"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}], "outputs": {"y": "z.OUTPUT0"}}""", "outputs.y", "comes from step 'z', which is not in the pipeline"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}], "outputs": {}}""", "outputs", "must name at least one output"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}", "imputs": {}}]}""", "", "unknown field 'imputs'"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}", "timeout_ms": 0}]}""", "steps[0].timeout_ms", "must be 1 to 3600000 milliseconds"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "fallback_for": "zz"}]}""", "steps[1].fallback_for", "names step 'zz', which is not in the pipeline"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{mlp}}}", "fallback_for": "a"}, {"name": "c", "model": "{{{fp32}}}", "inputs": {"INPUT0": "a.OUTPUT0"}}]}""",
                "steps[1].fallback_for", $"stands in for step 'a', whose output 'OUTPUT0' is read, but model '{mlp}' version 1 has no output 'OUTPUT0'"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "fallback_for": "a"}, {"name": "c", "model": "{{{fp32}}}", "inputs": {"INPUT0": "b.OUTPUT0"}}]}""",
                "steps[2].inputs.INPUT0", "reads step 'b', a fallback; read 'a.OUTPUT0'"),
            // Conditional steps (when) and outputs put together from several steps
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "when": {"output": "a.OUTPUT0", "op": "~", "value": 1}}]}""", "steps[1].when.op", "cannot be \"~\": one of '<', '<=', '>', '>=', '==', '!='"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "when": {"output": "a.OUTPUT0", "op": "<"}}]}""", "steps[1].when.value", "is required: the number the reduced row is compared with"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "when": {"output": "a.OUTPUT0", "reduce": "mean", "op": "<", "value": 1}}]}""", "steps[1].when.reduce", "must be 'max', 'min'"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "when": {"output": "$request.INPUT0", "op": "<", "value": 1}}]}""", "steps[1].when.output", "must be an output of another step"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "when": {"output": "zz.OUTPUT0", "op": "<", "value": 1}}]}""", "steps[1].when.output", "reads from step 'zz', which is not in the pipeline"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}", "when": {"output": "a.OUTPUT0", "op": "<", "value": 1}}]}""", "steps[0].when.output", "own output"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "when": {"output": "a.scores", "op": "<", "value": 1}}]}""", "steps[1].when.output", $"model '{fp32}' version 2 has no output 'scores'; its outputs are 'OUTPUT0'"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "fallback_for": "a", "when": {"output": "a.OUTPUT0", "op": "<", "value": 1}}]}""", "steps[1].when", "cannot be given to a fallback"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "when": {"output": "a.OUTPUT0", "op": "<", "value": 1}}], "outputs": {"y": "b.OUTPUT0"}}""",
                "outputs.y", "comes from step 'b', which runs only when its condition holds (max of a.OUTPUT0 < 1): name a list that ends in a step that always runs"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "when": {"output": "a.OUTPUT0", "op": "<", "value": 1}}], "outputs": {"y": ["a.OUTPUT0", "b.OUTPUT0"]}}""",
                "outputs.y", "lists 'b.OUTPUT0' after 'a.OUTPUT0', which always runs and answers every row: entries after it are never used"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp32}}}", "when": {"output": "a.OUTPUT0", "op": "<", "value": 1}}, {"name": "c", "model": "{{{fp32}}}", "inputs": {"INPUT0": "b.OUTPUT0"}}], "outputs": {"y": "c.OUTPUT0"}}""",
                "outputs.y", "comes from step 'c', which runs only when its condition holds (it reads step 'b', which has a when)"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}, {"name": "b", "model": "{{{fp64}}}", "inputs": {"INPUT0": "$request.x64"}, "when": {"output": "a.OUTPUT0", "op": "<", "value": 1}}], "outputs": {"y": ["b.OUTPUT0", "a.OUTPUT0"]}}""",
                "outputs.y", "lists 'b.OUTPUT0', which is FP64, and 'a.OUTPUT0', which is FP32: the entries of one output must have one datatype"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}], "outputs": {"y": []}}""", "outputs.y", "must be \"<step>.<output>\", or a list of them"),
            ($$$"""{"steps": [{"name": "a", "model": "{{{fp32}}}"}], "outputs": {"y": 5}}""", "", "$.outputs.y has the wrong type: expected \"<step>.<output>\", or a list of them"),
        ];
        var failures = new List<string>();
        foreach (var (body, field, says) in cases)
        {
            using var response = await PutAsync(api, RegistryTestData.UniqueName("bad"), body);
            var text = await response.Content.ReadAsStringAsync();
            var problem = JsonNode.Parse(text)!.AsObject();
            var messages = field.Length == 0
                ? [problem["detail"]!.GetValue<string>()]
                : problem["errors"]?[field]?.AsArray().Select(message => message!.GetValue<string>()).ToList() ?? [];
            if (response.StatusCode != HttpStatusCode.BadRequest || !messages.Any(message => message.Contains(says, StringComparison.Ordinal)))
            {
                failures.Add($"{body}: expected 400 with {field} saying \"{says}\", got {(int)response.StatusCode} {text}");
            }
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));

        // Every mistake at once, and the detail lists them.
        using var several = await PutAsync(api, RegistryTestData.UniqueName("bad"), $$$"""{"steps": [{"name": "a", "model": "nope"}, {"model": "{{{fp32}}}"}]}""");
        var all = await RegistryTestData.ProblemAsync(several, HttpStatusCode.BadRequest);
        Assert.True(all.GetProperty("errors").TryGetProperty("steps[0].model", out _));
        Assert.True(all.GetProperty("errors").TryGetProperty("steps[1].name", out _));
        Assert.StartsWith("The pipeline is invalid: ", all.GetProperty("detail").GetString());
    }
}

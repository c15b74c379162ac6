using System.Net;
using System.Text;
using System.Text.Json;
using Hyperion.Tests.Graph;
using static Hyperion.Tests.ControlPlane.RegistryTestData;

namespace Hyperion.Tests.ControlPlane;

/// <summary>
/// Issue 18 item 2 on the real graph: a version moves none → staging → production → archived; a model's approval
/// policy makes the move to production an approver's (another key than the uploader's, with the 'approve' scope), and
/// its deployment take only production versions as stable. Every move is audited with who and why.
/// </summary>
[Collection(HyperionAppCollection.Name)]
public sealed class RegistryStageTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task Without_a_policy_a_deploy_key_moves_versions_through_every_stage_as_before_and_each_move_is_audited()
    {
        var deploy = await hyperion.CreateKeyAsync(["deploy"]);
        using var client = hyperion.CreateApiClient(key: deploy.Key);
        var model = await DeploymentTestSupport.RegisterDigitsAsync(client, "stages", versions: 2);
        var actor = await ActorAsync(client, model, 1);

        await StageOkAsync(client, model, 1, """{"stage": "staging", "reason": "candidate from run 42"}""");
        await StageOkAsync(client, model, 1, """{"stage": "production"}""");
        await StageOkAsync(client, model, 2, """{"stage": "archived", "reason": "worse than 1"}""");
        await StageOkAsync(client, model, 2, """{"stage": "none"}""");

        using (var version = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{model}/versions/1")))
        {
            var root = version.RootElement;
            Assert.Equal("production", root.GetProperty("stage").GetString());
            var history = root.GetProperty("stage_history").EnumerateArray().ToList();
            Assert.Equal([("none", "staging"), ("staging", "production")], history.Select(h => (h.GetProperty("from").GetString(), h.GetProperty("to").GetString())));
            Assert.All(history, h => Assert.Equal(actor, h.GetProperty("actor").GetString()));
            Assert.Equal("candidate from run 42", history[0].GetProperty("reason").GetString());
            Assert.False(history[1].TryGetProperty("approved_by", out _), "no approval without the policy");
        }
        using (var detail = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{model}")))
        {
            Assert.False(detail.RootElement.GetProperty("policy").GetProperty("require_approval").GetBoolean());
            Assert.Equal(["none", "production"], detail.RootElement.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("stage").GetString()));
        }
        // A model without the policy deploys any version that is not archived, as before.
        await DeploymentTestSupport.PutOkAsync(client, model, """{"stable": 2, "canary": {"version": 1, "percent": 10}}""");
        await DeploymentTestSupport.PutOkAsync(client, model, """{"stable": 2}""");

        // An approver's key only ever moves versions to production.
        var approve = await hyperion.CreateKeyAsync(["approve"]);
        using var approver = hyperion.CreateApiClient(key: approve.Key);
        using (var refused = await StageAsync(approver, model, 1, """{"stage": "staging"}"""))
        {
            var detail = (await ProblemAsync(refused, HttpStatusCode.Forbidden)).GetProperty("detail").GetString();
            Assert.Contains("an 'approve' key only moves versions to production", detail);
            Assert.Contains("'deploy' or 'admin'", detail);
        }
        await StageOkAsync(approver, model, 2, """{"stage": "production", "reason": "looks fine"}""");

        using var audit = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/audit?model={model}&action=version.stage_changed"));
        var entries = audit.RootElement.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(5, entries.Count);
        Assert.Equal("version 2", entries[0].GetProperty("target").GetString());
        Assert.StartsWith($"key:{approve.Body.GetProperty("name").GetString()} ", entries[0].GetProperty("actor").GetString());
        Assert.Equal("none", entries[0].GetProperty("before").GetProperty("stage").GetString());
        Assert.Equal("production", entries[0].GetProperty("after").GetProperty("stage").GetString());
        Assert.Equal("looks fine", entries[0].GetProperty("details").GetProperty("reason").GetString());
        Assert.Equal("candidate from run 42", entries[^1].GetProperty("details").GetProperty("reason").GetString());

        await client.DeleteAsync($"/api/v1/deployments/{model}");
    }

    [Fact]
    public async Task Under_the_policy_only_an_approve_key_other_than_the_uploader_moves_a_version_to_production_and_says_why()
    {
        var uploader = await hyperion.CreateKeyAsync(["deploy"]);
        var selfApprover = await hyperion.CreateKeyAsync(["deploy", "approve"]);
        var approve = await hyperion.CreateKeyAsync(["approve"]);
        using var uploaderClient = hyperion.CreateApiClient(key: uploader.Key);
        using var selfApproverClient = hyperion.CreateApiClient(key: selfApprover.Key);
        using var approver = hyperion.CreateApiClient(key: approve.Key);
        var model = UniqueName("approve");
        await CreateModelAsync(uploaderClient, model);
        await UploadOkAsync(uploaderClient, model, Digits);
        await UploadOkAsync(selfApproverClient, model, Digits);
        var uploadedBy = await ActorAsync(uploaderClient, model, 1);
        var selfApproverActor = await ActorAsync(uploaderClient, model, 2);

        // Only an approver sets the policy: a deploy key that could turn it off could approve its own versions.
        using (var refused = await uploaderClient.PutAsync($"/api/v1/models/{model}/policy", Json("""{"require_approval": true}""")))
        {
            Assert.Contains("'approve' or 'admin'", (await ProblemAsync(refused, HttpStatusCode.Forbidden)).GetProperty("detail").GetString());
        }
        using (var set = await approver.PutAsync($"/api/v1/models/{model}/policy", Json("""{"require_approval": true, "reason": "customer-facing"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
            Assert.True(JsonDocument.Parse(await set.Content.ReadAsStringAsync()).RootElement.GetProperty("require_approval").GetBoolean());
        }
        using (var read = JsonDocument.Parse(await uploaderClient.GetStringAsync($"/api/v1/models/{model}/policy")))
        {
            Assert.True(read.RootElement.GetProperty("require_approval").GetBoolean());
        }
        using (var detail = JsonDocument.Parse(await uploaderClient.GetStringAsync($"/api/v1/models/{model}")))
        {
            Assert.True(detail.RootElement.GetProperty("policy").GetProperty("require_approval").GetBoolean());
        }

        // Staging needs no approval.
        await StageOkAsync(uploaderClient, model, 1, """{"stage": "staging", "reason": "shadow test next"}""");

        // A key without 'approve': 403 saying who must approve and why.
        using (var refused = await StageAsync(uploaderClient, model, 1, """{"stage": "production", "reason": "ship it"}"""))
        {
            var detail = (await ProblemAsync(refused, HttpStatusCode.Forbidden)).GetProperty("detail").GetString();
            Assert.Contains($"model '{model}' requires approval to move a version to production", detail);
            Assert.Contains("'approve' or 'admin'", detail);
            Assert.Contains($"other than the one that uploaded version 1 ({uploadedBy})", detail);
        }
        // An approver that uploaded the version: 403, another key must approve it.
        using (var refused = await StageAsync(selfApproverClient, model, 2, """{"stage": "production", "reason": "mine is good"}"""))
        {
            var detail = (await ProblemAsync(refused, HttpStatusCode.Forbidden)).GetProperty("detail").GetString();
            Assert.Contains($"version 2 of '{model}' was uploaded by {selfApproverActor}, the key making this call", detail);
            Assert.Contains("requires approval by another key", detail);
        }
        // A key that may neither deploy nor approve never reaches the call.
        var infer = await hyperion.CreateKeyAsync(["infer"]);
        using (var inferClient = hyperion.CreateApiClient(key: infer.Key))
        using (var refused = await StageAsync(inferClient, model, 1, """{"stage": "production", "reason": "x"}"""))
        {
            Assert.Contains("'deploy', 'approve' or 'admin'", (await ProblemAsync(refused, HttpStatusCode.Forbidden)).GetProperty("detail").GetString());
        }
        // An approval says why.
        using (var refused = await StageAsync(approver, model, 1, """{"stage": "production"}"""))
        {
            var errors = (await ProblemAsync(refused, HttpStatusCode.BadRequest)).GetProperty("errors");
            Assert.StartsWith("is required to approve a move to production", errors.GetProperty("reason")[0].GetString());
        }
        using (var version = JsonDocument.Parse(await uploaderClient.GetStringAsync($"/api/v1/models/{model}/versions/1")))
        {
            Assert.Equal("staging", version.RootElement.GetProperty("stage").GetString());
        }

        // Another key with 'approve' (and no 'deploy') approves: the move is the approval.
        await StageOkAsync(approver, model, 1, """{"stage": "production", "reason": "holdout accuracy 0.97, card reviewed"}""");
        await StageOkAsync(approver, model, 2, """{"stage": "production", "reason": "same artifact as 1"}""");
        using (var version = JsonDocument.Parse(await uploaderClient.GetStringAsync($"/api/v1/models/{model}/versions/1")))
        {
            var last = version.RootElement.GetProperty("stage_history").EnumerateArray().Last();
            var approverActor = last.GetProperty("actor").GetString();
            Assert.StartsWith($"key:{approve.Body.GetProperty("name").GetString()} ", approverActor);
            Assert.Equal(approverActor, last.GetProperty("approved_by").GetString());
            Assert.Equal("holdout accuracy 0.97, card reviewed", last.GetProperty("reason").GetString());
            Assert.Equal("production", last.GetProperty("to").GetString());
        }

        var audit = await RegistryModelTests.AuditAsync(hyperion, model);
        var policy = Assert.Single(audit, a => a.Action == "model.policy_changed");
        Assert.Contains("\"require_approval\": false", policy.Before);
        Assert.Contains("\"require_approval\": true", policy.After);
        var approvals = audit.Where(a => a.Action == "version.stage_changed" && a.After.Contains("\"production\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(["version 1", "version 2"], approvals.Select(a => a.Target));
        using var entries = JsonDocument.Parse(await uploaderClient.GetStringAsync($"/api/v1/audit?model={model}&action=version.stage_changed&limit=1"));
        var approval = entries.RootElement.GetProperty("entries")[0].GetProperty("details").GetProperty("approval");
        Assert.True(approval.GetProperty("required_by_policy").GetBoolean());
        Assert.Equal(selfApproverActor, approval.GetProperty("uploaded_by").GetString());
    }

    [Fact]
    public async Task Under_the_policy_a_deployment_takes_only_a_production_version_as_stable_and_tries_a_staging_one_as_canary_or_shadow()
    {
        using var admin = hyperion.CreateApiClient();
        var approve = await hyperion.CreateKeyAsync(["approve"]);
        using var approver = hyperion.CreateApiClient(key: approve.Key);
        var model = await DeploymentTestSupport.RegisterDigitsAsync(admin, "prodonly", versions: 2);
        await DeploymentTestSupport.PutOkAsync(admin, model, """{"stable": 1}""");

        // The policy cannot be turned on while the deployment's stable is not in production.
        using (var refused = await approver.PutAsync($"/api/v1/models/{model}/policy", Json("""{"require_approval": true}""")))
        {
            var detail = (await ProblemAsync(refused, HttpStatusCode.Conflict)).GetProperty("detail").GetString();
            Assert.Contains($"its deployment names version 1 as stable, which is in stage 'none'", detail);
        }
        await StageOkAsync(approver, model, 1, """{"stage": "production", "reason": "serving today"}""");
        using (var set = await approver.PutAsync($"/api/v1/models/{model}/policy", Json("""{"require_approval": true}""")))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        using (var refused = await DeploymentTestSupport.PutAsync(admin, model, """{"stable": 2}"""))
        {
            var detail = (await ProblemAsync(refused, HttpStatusCode.Conflict)).GetProperty("detail").GetString();
            Assert.Contains($"Model '{model}' requires approval", detail);
            Assert.Contains("version 2, named as stable, is in stage 'none'", detail);
            Assert.Contains($"POST /api/v1/models/{model}/versions/2/stage", detail);
        }
        await StageOkAsync(admin, model, 2, """{"stage": "staging"}""");
        // A plan ends by making its canary stable, so it needs a production canary too.
        using (var refused = await DeploymentTestSupport.PutAsync(admin, model, """{"stable": 1, "canary": {"version": 2, "steps": [50, 100]}}"""))
        {
            var detail = (await ProblemAsync(refused, HttpStatusCode.Conflict)).GetProperty("detail").GetString();
            Assert.Contains("version 2, named as the canary of a plan (which ends by making it stable), is in stage 'staging'", detail);
        }
        // A staging version is tried as a shadow or a fixed canary.
        await DeploymentTestSupport.PutOkAsync(admin, model, """{"stable": 1, "shadow": {"version": 2, "percent": 0}}""");
        await DeploymentTestSupport.PutOkAsync(admin, model, """{"stable": 1, "canary": {"version": 2, "percent": 10}}""");
        using (var refused = await admin.PostAsync($"/api/v1/deployments/{model}/promote", null))
        {
            var detail = (await ProblemAsync(refused, HttpStatusCode.Conflict)).GetProperty("detail").GetString();
            Assert.Contains("version 2, named as the canary to promote, is in stage 'staging'", detail);
        }
        // The stable (and the canary) stay in production while the deployment names them.
        using (var refused = await StageAsync(admin, model, 1, """{"stage": "staging"}"""))
        {
            var detail = (await ProblemAsync(refused, HttpStatusCode.Conflict)).GetProperty("detail").GetString();
            Assert.Contains($"version 1 of '{model}' cannot leave production", detail);
            Assert.Contains($"deployment '{model}' (stable)", detail);
        }

        await StageOkAsync(approver, model, 2, """{"stage": "production", "reason": "canary held 10 % for a day"}""");
        using (var promoted = await admin.PostAsync($"/api/v1/deployments/{model}/promote", null))
        {
            Assert.True(promoted.StatusCode == HttpStatusCode.OK, await promoted.Content.ReadAsStringAsync());
        }
        Assert.Equal(2, (await DeploymentTestSupport.GetAsync(admin, model))["stable"]!.GetValue<long>());
        // Version 1 is only kept loaded for a rollback now: it may leave production, and a rollback then has nowhere to go.
        await StageOkAsync(admin, model, 1, """{"stage": "staging", "reason": "replaced by 2"}""");
        using (var rollback = await admin.PostAsync($"/api/v1/deployments/{model}/rollback", null))
        {
            Assert.Contains("nothing to roll back to", (await ProblemAsync(rollback, HttpStatusCode.Conflict)).GetProperty("detail").GetString());
        }

        // Turning the policy off (an approver's call) gives back the behaviour of a model without it.
        using (var off = await approver.PutAsync($"/api/v1/models/{model}/policy", Json("""{"require_approval": false, "reason": "retired from the storefront"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, off.StatusCode);
        }
        await DeploymentTestSupport.PutOkAsync(admin, model, """{"stable": 1}""");
        await admin.DeleteAsync($"/api/v1/deployments/{model}");
    }

    [Fact]
    public async Task A_policy_call_with_a_bad_body_or_an_unknown_model_is_refused_with_what_was_expected()
    {
        using var admin = hyperion.CreateApiClient();
        var model = UniqueName("policybad");
        await CreateModelAsync(admin, model);
        var url = $"/api/v1/models/{model}/policy";

        using (var response = await admin.PutAsync(url, Json("""{"require_approval": "yes", "approvers": 2}""")))
        {
            var errors = (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("errors");
            Assert.StartsWith("is required: true", errors.GetProperty("require_approval")[0].GetString());
            Assert.Contains("unknown field 'approvers'", errors.GetProperty("approvers")[0].GetString());
        }
        using (var response = await admin.PutAsync(url, Json($$"""{"require_approval": true, "reason": "{{new string('x', 2000)}}"}""")))
        {
            Assert.StartsWith("must be a string of at most 1024", (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("errors").GetProperty("reason")[0].GetString());
        }
        using (var response = await admin.PutAsync(url, new StringContent("require_approval=true", Encoding.UTF8, "text/plain")))
        {
            await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        }
        var missing = UniqueName("nomodel");
        using (var response = await admin.PutAsync($"/api/v1/models/{missing}/policy", Json("""{"require_approval": true}""")))
        {
            Assert.Contains($"no model named '{missing}'", (await ProblemAsync(response, HttpStatusCode.NotFound)).GetProperty("detail").GetString());
        }
        using (var response = await admin.GetAsync($"/api/v1/models/{missing}/policy"))
        {
            await ProblemAsync(response, HttpStatusCode.NotFound);
        }
        Assert.DoesNotContain(await RegistryModelTests.AuditAsync(hyperion, model), a => a.Action == "model.policy_changed");
        using var read = JsonDocument.Parse(await admin.GetStringAsync(url));
        Assert.False(read.RootElement.GetProperty("require_approval").GetBoolean());
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static Task<HttpResponseMessage> StageAsync(HttpClient client, string model, long version, string body) =>
        client.PostAsync($"/api/v1/models/{model}/versions/{version}/stage", Json(body));

    private static async Task StageOkAsync(HttpClient client, string model, long version, string body)
    {
        using var response = await StageAsync(client, model, version, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"stage {version} {body}: {(int)response.StatusCode} {text}");
    }

    /// <summary>Who uploaded the version, as the registry names it (the actor an approval is compared with).</summary>
    private static async Task<string> ActorAsync(HttpClient client, string model, long version)
    {
        using var read = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{model}/versions/{version}"));
        return read.RootElement.GetProperty("created_by").GetString()!;
    }
}

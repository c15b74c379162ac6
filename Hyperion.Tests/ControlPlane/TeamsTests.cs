using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hyperion.Tests.Graph;
using static Hyperion.Tests.ControlPlane.KeysTestApi;

namespace Hyperion.Tests.ControlPlane;

/// <summary>
/// Issue 18 item 4 on the real graph: models and keys belong to teams; a team's key deploys, approves and submits jobs
/// only for its team's models; <c>deploy:&lt;model&gt;</c> reaches one model and <c>approve:&lt;team&gt;</c> one team's
/// models; every team change is audited. (Inference through the gateway: <c>GatewayTeamTests</c>.)
/// </summary>
[Collection(HyperionAppCollection.Name)]
public sealed class TeamsTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task A_team_key_deploys_its_team_model_and_is_refused_on_another_team_model_with_both_named()
    {
        var vision = await hyperion.CreateTeamAsync("vision");
        var nlp = await hyperion.CreateTeamAsync("nlp");
        using var admin = hyperion.CreateApiClient();
        var own = await DeploymentTestSupport.RegisterDigitsAsync(admin, "own", versions: 1);
        var theirs = await DeploymentTestSupport.RegisterDigitsAsync(admin, "theirs", versions: 1);
        await hyperion.SetModelTeamAsync(own, vision);
        await hyperion.SetModelTeamAsync(theirs, nlp);
        var key = await hyperion.CreateKeyAsync(["deploy"], team: vision);
        Assert.Equal(vision, key.Body.GetProperty("team").GetString());
        using var client = hyperion.CreateApiClient(key: key.Key);

        await DeploymentTestSupport.PutOkAsync(client, own, """{"stable": 1}""");
        using (var refused = await DeploymentTestSupport.PutAsync(client, theirs, """{"stable": 1}"""))
        {
            var detail = await AssertProblemAsync(refused, HttpStatusCode.Forbidden);
            Assert.Contains($"team '{vision}'", detail);
            Assert.Contains($"model '{theirs}'", detail);
            Assert.Contains($"team '{nlp}'", detail);
        }
        // Uploading a version is changing the model too; reading it is not refused by the team.
        using (var upload = await client.PostAsync($"/api/v1/models/{theirs}/versions", RegistryTestData.Upload(RegistryTestData.Digits)))
        {
            await AssertProblemAsync(upload, HttpStatusCode.Forbidden);
        }
        using (var unteamed = await client.PostAsync($"/api/v1/models/{await DeploymentTestSupport.RegisterDigitsAsync(admin, "unteamed", versions: 0)}/versions",
            RegistryTestData.Upload(RegistryTestData.Digits)))
        {
            Assert.Contains("belongs to no team", await AssertProblemAsync(unteamed, HttpStatusCode.Forbidden));
        }

        // Labels change a model's quality figures: only for the team's own models.
        using (var feedback = await client.PostAsJsonAsync("/api/v1/feedback", new { model = theirs, items = new[] { new { request_id = "r1", label = 3 } } }))
        {
            Assert.Contains($"team '{nlp}'", await AssertProblemAsync(feedback, HttpStatusCode.Forbidden));
        }

        // The team's key registers models for its team, and never for another.
        var registered = RegistryTestData.UniqueName("team-made");
        using (var create = await client.PostAsJsonAsync("/api/v1/models", new { name = registered, task = "classification" }))
        {
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
            Assert.Equal(vision, (await create.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("team").GetString());
        }
        using (var foreign = await client.PostAsJsonAsync("/api/v1/models", new { name = RegistryTestData.UniqueName("foreign"), task = "classification", team = nlp }))
        {
            Assert.Contains($"team '{nlp}'", await AssertProblemAsync(foreign, HttpStatusCode.Forbidden));
        }

        // A pipeline sends traffic to every model it names: a team's key defines pipelines over its team's models only.
        var flow = RegistryTestData.UniqueName("team-flow");
        using (var foreignStep = await client.PutAsync($"/api/v1/pipelines/{flow}", JsonContent.Create(new { steps = new[] { new { name = "clf", model = theirs } } })))
        {
            var detail = await AssertProblemAsync(foreignStep, HttpStatusCode.Forbidden);
            Assert.Contains($"model '{theirs}' belongs to team '{nlp}'", detail);
            Assert.Contains("a pipeline calls every model it names", detail);
        }
        using (var ownSteps = await client.PutAsync($"/api/v1/pipelines/{flow}", JsonContent.Create(new { steps = new[] { new { name = "clf", model = own } } })))
        {
            Assert.Equal(HttpStatusCode.Created, ownSteps.StatusCode);
        }
        await admin.DeleteAsync($"/api/v1/pipelines/{flow}");

        await admin.DeleteAsync($"/api/v1/deployments/{own}");
    }

    [Fact]
    public async Task Approvals_are_refused_on_another_team_model_and_approve_team_reaches_only_that_team()
    {
        var vision = await hyperion.CreateTeamAsync("vision");
        var nlp = await hyperion.CreateTeamAsync("nlp");
        using var admin = hyperion.CreateApiClient();
        var visionModel = await DeploymentTestSupport.RegisterDigitsAsync(admin, "approve-v", versions: 1);
        var nlpModel = await DeploymentTestSupport.RegisterDigitsAsync(admin, "approve-n", versions: 1);
        await hyperion.SetModelTeamAsync(visionModel, vision);
        await hyperion.SetModelTeamAsync(nlpModel, nlp);
        foreach (var model in new[] { visionModel, nlpModel })
        {
            using var policy = await admin.PutAsync($"/api/v1/models/{model}/policy", Json("""{"require_approval": true}"""));
            Assert.Equal(HttpStatusCode.OK, policy.StatusCode);
        }
        const string approval = """{"stage": "production", "reason": "reviewed"}""";

        // A team's approver: its own team only.
        var visionApprover = await hyperion.CreateKeyAsync(["approve"], team: vision);
        using (var approver = hyperion.CreateApiClient(key: visionApprover.Key))
        {
            using var refused = await approver.PostAsync($"/api/v1/models/{nlpModel}/versions/1/stage", Json(approval));
            var detail = await AssertProblemAsync(refused, HttpStatusCode.Forbidden);
            Assert.Contains($"model '{nlpModel}' belongs to team '{nlp}'", detail);
            using var allowed = await approver.PostAsync($"/api/v1/models/{visionModel}/versions/1/stage", Json(approval));
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        // approve:<team> without a team of its own: that team's models only.
        var nlpApprover = await hyperion.CreateKeyAsync([$"approve:{nlp}"]);
        using (var approver = hyperion.CreateApiClient(key: nlpApprover.Key))
        {
            using var refused = await approver.PostAsync($"/api/v1/models/{visionModel}/versions/1/stage", Json("""{"stage": "none"}"""));
            Assert.Contains($"'approve:{vision}'", await AssertProblemAsync(refused, HttpStatusCode.Forbidden));
            using var allowed = await approver.PostAsync($"/api/v1/models/{nlpModel}/versions/1/stage", Json(approval));
            var text = await allowed.Content.ReadAsStringAsync();
            Assert.True(allowed.StatusCode == HttpStatusCode.OK, text);
            Assert.Equal("production", JsonDocument.Parse(text).RootElement.GetProperty("stage").GetString());
        }
    }

    [Fact]
    public async Task A_deploy_model_key_changes_only_that_model_and_nothing_that_is_not_about_one_model()
    {
        using var admin = hyperion.CreateApiClient();
        var mine = await DeploymentTestSupport.RegisterDigitsAsync(admin, "scoped", versions: 1);
        var other = await DeploymentTestSupport.RegisterDigitsAsync(admin, "notmine", versions: 1);
        var key = await hyperion.CreateKeyAsync([$"deploy:{mine}"]);
        using var client = hyperion.CreateApiClient(key: key.Key);

        await DeploymentTestSupport.PutOkAsync(client, mine, """{"stable": 1}""");
        using (var refused = await DeploymentTestSupport.PutAsync(client, other, """{"stable": 1}"""))
        {
            var detail = await AssertProblemAsync(refused, HttpStatusCode.Forbidden);
            Assert.Contains($"'deploy:{other}'", detail);
            Assert.Contains($"deploy:{mine}", detail);
        }
        using (var list = await client.GetAsync("/api/v1/models"))
        {
            await AssertProblemAsync(list, HttpStatusCode.Forbidden);
        }
        using (var read = await client.GetAsync($"/api/v1/models/{mine}"))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
        await admin.DeleteAsync($"/api/v1/deployments/{mine}");
    }

    [Fact]
    public async Task Teams_are_admin_only_and_every_team_change_is_audited()
    {
        var team = await hyperion.CreateTeamAsync("audited");
        using var admin = hyperion.CreateApiClient();
        var model = await DeploymentTestSupport.RegisterDigitsAsync(admin, "moved", versions: 0);

        var deploy = await hyperion.CreateKeyAsync(["deploy"]);
        using (var deployClient = hyperion.CreateApiClient(key: deploy.Key))
        {
            using var create = await deployClient.PostAsync("/api/v1/teams", Json("""{"name": "sneaky"}"""));
            Assert.Contains("'admin'", await AssertProblemAsync(create, HttpStatusCode.Forbidden));
            using var move = await deployClient.PutAsync($"/api/v1/models/{model}/team", Json($$"""{"team": "{{team}}"}"""));
            await AssertProblemAsync(move, HttpStatusCode.Forbidden);
        }

        using (var duplicate = await admin.PostAsync("/api/v1/teams", Json($$"""{"name": "{{team}}"}""")))
        {
            Assert.Contains("already exists", await AssertProblemAsync(duplicate, HttpStatusCode.Conflict));
        }
        using (var unknown = await admin.PutAsync($"/api/v1/models/{model}/team", Json("""{"team": "no-such-team"}""")))
        {
            Assert.Contains("'no-such-team'", await AssertProblemAsync(unknown, HttpStatusCode.BadRequest));
        }
        using (var move = await admin.PutAsync($"/api/v1/models/{model}/team", Json($$"""{"team": "{{team}}", "reason": "audited owns it"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, move.StatusCode);
        }
        using (var detail = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/models/{model}")))
        {
            Assert.Equal(team, detail.RootElement.GetProperty("team").GetString());
        }
        using (var shown = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/teams/{team}")))
        {
            Assert.Equal([model], shown.RootElement.GetProperty("models").EnumerateArray().Select(name => name.GetString()));
        }
        using (var back = await admin.PutAsync($"/api/v1/models/{model}/team", Json("""{"team": null}""")))
        {
            Assert.Equal(HttpStatusCode.OK, back.StatusCode);
        }

        using var audit = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/audit?model={model}&action=model.team_changed"));
        var entries = audit.RootElement.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        // No team: the audit log leaves null fields out.
        Assert.False(entries[0].GetProperty("after").TryGetProperty("team", out var none) && none.ValueKind != JsonValueKind.Null);
        Assert.Equal(team, entries[0].GetProperty("before").GetProperty("team").GetString());
        Assert.Equal(team, entries[1].GetProperty("after").GetProperty("team").GetString());
        Assert.Equal("audited owns it", entries[1].GetProperty("details").GetProperty("reason").GetString());
        using var created = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/audit?action=team.created"));
        Assert.Contains(created.RootElement.GetProperty("entries").EnumerateArray(), entry => entry.GetProperty("target").GetString() == $"team {team}");
    }

    [Fact]
    public async Task A_team_key_is_refused_admin_and_unknown_teams_with_messages_that_say_so()
    {
        var team = await hyperion.CreateTeamAsync("keys");
        using var admin = hyperion.CreateApiClient();
        using (var withAdmin = await admin.PostAsJsonAsync("/api/v1/keys", new { name = "x", scopes = new[] { "admin" }, team }))
        {
            Assert.Contains("cannot hold 'admin'", await AssertProblemAsync(withAdmin, HttpStatusCode.BadRequest));
        }
        using (var unknown = await admin.PostAsJsonAsync("/api/v1/keys", new { name = "x", scopes = new[] { "deploy", "approve:ghosts" }, team = "phantoms" }))
        {
            var detail = await AssertProblemAsync(unknown, HttpStatusCode.BadRequest);
            Assert.Contains("'ghosts'", detail);
            Assert.Contains("'phantoms'", detail);
        }
        using (var badScope = await admin.PostAsJsonAsync("/api/v1/keys", new { name = "x", scopes = new[] { "deploy:" } }))
        {
            Assert.Contains("deploy:<model>", await AssertProblemAsync(badScope, HttpStatusCode.BadRequest));
        }
    }
}

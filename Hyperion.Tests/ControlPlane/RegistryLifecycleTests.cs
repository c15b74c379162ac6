using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Tests.Graph;
using static Hyperion.Tests.ControlPlane.RegistryTestData;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Issue 18 on the real graph: lineage as people write it, archiving, deleting and model cards.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class RegistryLifecycleTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task Lineage_with_a_dataset_name_is_accepted_kept_as_given_and_shown_normalised()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("lineage");
        await CreateModelAsync(client, model);
        const string lineage = """{"git_commit": "abc123", "dataset": "sklearn-digits", "dataset_version": "1", "notes": {"any": ["thing"]}}""";

        var created = await UploadOkAsync(client, model, Digits, lineage: lineage);
        Assert.Equal("sklearn-digits", created.GetProperty("lineage").GetProperty("dataset").GetString());

        using var read = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{model}/versions/1"));
        var version = read.RootElement;
        // Kept as given (PostgreSQL's jsonb keeps the content, not the order of keys).
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(lineage), JsonNode.Parse(version.GetProperty("lineage").GetRawText())), version.GetProperty("lineage").GetRawText());
        var normalized = version.GetProperty("lineage_normalized");
        Assert.Equal("abc123", normalized.GetProperty("git_commit").GetString());
        var dataset = Assert.Single(normalized.GetProperty("datasets").EnumerateArray());
        Assert.Equal("sklearn-digits", dataset.GetProperty("name").GetString());
        Assert.Equal("1", dataset.GetProperty("version").GetString());
        Assert.Equal("none", version.GetProperty("stage").GetString());
    }

    [Fact]
    public async Task An_mlflow_run_as_lineage_is_read_and_a_wrong_type_in_a_field_the_registry_shows_is_400_naming_it()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("mlflow");
        await CreateModelAsync(client, model);
        var version = await UploadOkAsync(client, model, Digits, lineage: """
            {"run_id": "4f2a9c", "params": [{"key": "C", "value": "0.1"}], "metrics": {"test": {"accuracy": 0.97}},
             "tags": {"mlflow.source.git.commit": "deadbeef"}, "parent": "models:/digits-base/3", "dataset": {"name": "digits", "digest": "1a2b"}}
            """);
        var normalized = version.GetProperty("lineage_normalized");
        Assert.Equal("deadbeef", normalized.GetProperty("git_commit").GetString());
        Assert.Equal("4f2a9c", normalized.GetProperty("source_run").GetString());
        Assert.Equal("0.1", normalized.GetProperty("parameters").GetProperty("C").GetString());
        Assert.Equal(0.97, normalized.GetProperty("metrics").GetProperty("test.accuracy").GetDouble());
        Assert.Equal("digits-base", normalized.GetProperty("parent").GetProperty("model").GetString());
        Assert.Equal(3, normalized.GetProperty("parent").GetProperty("version").GetInt64());

        using var response = await client.PostAsync($"/api/v1/models/{model}/versions", Upload(Digits, lineage: """{"dataset": 7, "dataset_version": [1]}"""));
        var errors = (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("errors");
        Assert.StartsWith("must be a name, a URI or an object", errors.GetProperty("lineage.dataset")[0].GetString());
        Assert.Equal("must be a string or a number", errors.GetProperty("lineage.dataset_version")[0].GetString());
        Assert.Equal(new long[] { 1 }, await VersionNumbersAsync(client, model));
    }

    [Fact]
    public async Task An_archived_version_stays_readable_cannot_be_deployed_and_a_deployed_one_cannot_be_archived()
    {
        using var client = hyperion.CreateApiClient();
        var model = await DeploymentTestSupport.RegisterDigitsAsync(client, "archive", versions: 2);
        await DeploymentTestSupport.PutOkAsync(client, model, """{"stable": 1}""");

        using (var refused = await StageAsync(client, model, 1, """{"stage": "archived"}"""))
        {
            var detail = (await ProblemAsync(refused, HttpStatusCode.Conflict)).GetProperty("detail").GetString();
            Assert.Contains($"version 1 of '{model}' cannot be archived: it is used by deployment '{model}' (stable)", detail);
            Assert.Contains($"PUT /api/v1/deployments/{model}", detail);
        }

        using (var archived = await StageAsync(client, model, 2, """{"stage": "archived", "reason": "failed offline evaluation"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, archived.StatusCode);
            Assert.Equal("archived", (await archived.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("stage").GetString());
        }
        using (var again = await StageAsync(client, model, 2, """{"stage": "archived"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }
        using (var version = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{model}/versions/2")))
        {
            Assert.Equal("archived", version.RootElement.GetProperty("stage").GetString());
        }
        Assert.Equal(Digits, await client.GetByteArrayAsync($"/api/v1/models/{model}/versions/2/artifact"));
        using (var list = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{model}/versions")))
        {
            Assert.Equal(["archived", "none"], list.RootElement.EnumerateArray().Select(v => v.GetProperty("stage").GetString()));
        }

        foreach (var spec in new[] { """{"stable": 2}""", """{"stable": 1, "canary": {"version": 2, "percent": 10}}""", """{"stable": 1, "shadow": {"version": 2}}""" })
        {
            using var put = await DeploymentTestSupport.PutAsync(client, model, spec);
            var detail = (await ProblemAsync(put, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString();
            Assert.Contains($"Model '{model}' version 2", detail);
            Assert.Contains("is archived: an archived version cannot be the stable, canary or shadow of a deployment", detail);
        }

        using (var restored = await StageAsync(client, model, 2, """{"stage": "none", "reason": "re-evaluated"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, restored.StatusCode);
        }
        await DeploymentTestSupport.PutOkAsync(client, model, """{"stable": 1, "shadow": {"version": 2, "percent": 0}}""");

        var audit = await RegistryModelTests.AuditAsync(hyperion, model);
        var stages = audit.Where(a => a.Action == "version.stage_changed").ToList();
        Assert.Equal(2, stages.Count);
        Assert.All(stages, a => Assert.Equal("version 2", a.Target));
        Assert.Contains("\"archived\"", stages[0].After);
        Assert.Contains("\"none\"", stages[1].After);
        Assert.Equal("failed offline evaluation", await AuditReasonAsync(model, "version.stage_changed", 0));

        await client.DeleteAsync($"/api/v1/deployments/{model}");
    }

    [Fact]
    public async Task A_rollback_never_returns_to_an_archived_version()
    {
        using var client = hyperion.CreateApiClient();
        var model = await DeploymentTestSupport.RegisterDigitsAsync(client, "rollarch", versions: 3);
        foreach (var stable in new[] { 1, 2, 3 })
        {
            await DeploymentTestSupport.PutOkAsync(client, model, $$"""{"stable": {{stable}}}""");
        }
        using (var archived = await StageAsync(client, model, 2, """{"stage": "archived"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, archived.StatusCode);
        }

        using (var rollback = await client.PostAsync($"/api/v1/deployments/{model}/rollback", null))
        {
            Assert.True(rollback.StatusCode == HttpStatusCode.OK, await rollback.Content.ReadAsStringAsync());
        }
        Assert.Equal(1, (await DeploymentTestSupport.GetAsync(client, model))["stable"]!.GetValue<long>());
        await client.DeleteAsync($"/api/v1/deployments/{model}");
    }

    [Fact]
    public async Task A_stage_change_with_a_bad_body_or_version_is_refused_with_what_was_expected()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("stagebad");
        await CreateModelAsync(client, model);
        await UploadOkAsync(client, model, Digits);

        using (var response = await StageAsync(client, model, 1, """{"stage": "retired", "why": "x"}"""))
        {
            var errors = (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("errors");
            Assert.Equal("must be one of \"none\", \"staging\", \"production\", \"archived\"", errors.GetProperty("stage")[0].GetString());
            Assert.Contains("unknown field 'why'", errors.GetProperty("why")[0].GetString());
        }
        using (var response = await StageAsync(client, model, 9, """{"stage": "archived"}"""))
        {
            Assert.Contains($"model '{model}' has no version 9", (await ProblemAsync(response, HttpStatusCode.NotFound)).GetProperty("detail").GetString());
        }
        using (var response = await client.PostAsync($"/api/v1/models/{model}/versions/latest/stage", Json("""{"stage": "archived"}""")))
        {
            Assert.Contains("positive integer", (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
        }
        using (var response = await StageAsync(client, UniqueName("nomodel"), 1, """{"stage": "archived"}"""))
        {
            Assert.Contains("no model named", (await ProblemAsync(response, HttpStatusCode.NotFound)).GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task Deleting_an_unused_version_removes_it_and_its_card_a_deployed_one_is_refused_naming_the_deployment_and_numbers_are_never_reused()
    {
        using var client = hyperion.CreateApiClient();
        var model = await DeploymentTestSupport.RegisterDigitsAsync(client, "delete", versions: 3);
        await DeploymentTestSupport.PutOkAsync(client, model, """{"stable": 2}""");
        await PutCardAsync(client, model, 3, """{"owner": "vision"}""", HttpStatusCode.Created);

        using (var refused = await client.DeleteAsync($"/api/v1/models/{model}/versions/2"))
        {
            var detail = (await ProblemAsync(refused, HttpStatusCode.Conflict)).GetProperty("detail").GetString();
            Assert.Contains($"version 2 of '{model}' cannot be deleted: it is used by deployment '{model}' (stable)", detail);
            Assert.Contains($"DELETE /api/v1/deployments/{model}", detail);
        }
        using (var deleted = await client.DeleteAsync($"/api/v1/models/{model}/versions/1?reason=never%20deployed"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        using (var deleted = await client.DeleteAsync($"/api/v1/models/{model}/versions/3"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        Assert.Equal(new long[] { 2 }, await VersionNumbersAsync(client, model));
        using (var gone = await client.GetAsync($"/api/v1/models/{model}/versions/1"))
        {
            await ProblemAsync(gone, HttpStatusCode.NotFound);
        }
        using (var card = await client.GetAsync($"/api/v1/models/{model}/versions/3/card"))
        {
            Assert.Contains("has no version 3", (await ProblemAsync(card, HttpStatusCode.NotFound)).GetProperty("detail").GetString());
        }
        using (var again = await client.DeleteAsync($"/api/v1/models/{model}/versions/1"))
        {
            Assert.Contains("has no version 1", (await ProblemAsync(again, HttpStatusCode.NotFound)).GetProperty("detail").GetString());
        }
        // 3 was the latest: the next upload is 4, not 3 again.
        Assert.Equal(4, (await UploadOkAsync(client, model, Digits)).GetProperty("version").GetInt64());
        using (var detail = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{model}")))
        {
            Assert.Equal(4, detail.RootElement.GetProperty("latest_version").GetInt64());
            Assert.Equal(2, detail.RootElement.GetProperty("version_count").GetInt64());
        }

        var audit = await RegistryModelTests.AuditAsync(hyperion, model);
        Assert.Equal(["version 1", "version 3"], audit.Where(a => a.Action == "version.deleted").Select(a => a.Target));
        Assert.Contains(Sha256(Digits), audit.First(a => a.Action == "version.deleted").Before);
        Assert.Equal("never deployed", await AuditReasonAsync(model, "version.deleted", 0));

        // Once the deployment is gone nothing holds version 2 but the previous stable it may keep loaded: none here.
        await client.DeleteAsync($"/api/v1/deployments/{model}");
        using (var deleted = await client.DeleteAsync($"/api/v1/models/{model}/versions/2"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
    }

    [Fact]
    public async Task A_model_card_is_written_read_as_json_and_markdown_replaced_and_audited()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("card");
        await CreateModelAsync(client, model);
        await UploadOkAsync(client, model, Digits, lineage: Lineage);

        using (var none = await client.GetAsync($"/api/v1/models/{model}/versions/1/card"))
        {
            var detail = (await ProblemAsync(none, HttpStatusCode.NotFound)).GetProperty("detail").GetString();
            Assert.Contains("has no model card yet; write one with PUT", detail);
        }
        const string card = """
            {"intended_use": "Reading **handwritten digits** on scanned forms.",
             "limitations": ["8x8 grey images only", "Not tested on | pipes"],
             "evaluation_metrics": {"accuracy": 0.97, "recall": {"left-handed": 0.95, "right-handed": 0.96}},
             "fairness_notes": "Writers' handedness was balanced in the test set.",
             "owner": "vision-team", "contact": "vision@example.com"}
            """;
        var written = await PutCardAsync(client, model, 1, card, HttpStatusCode.Created);
        Assert.Equal("vision-team", written.GetProperty("owner").GetString());

        using (var json = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{model}/versions/1/card")))
        {
            var read = json.RootElement;
            Assert.Equal(model, read.GetProperty("model").GetString());
            Assert.Equal(1, read.GetProperty("version").GetInt64());
            Assert.Equal(2, read.GetProperty("limitations").GetArrayLength());
            Assert.Equal(0.95, read.GetProperty("evaluation_metrics").GetProperty("recall").GetProperty("left-handed").GetDouble());
            Assert.Equal("vision@example.com", read.GetProperty("contact").GetString());
            Assert.StartsWith("key:bootstrap-admin", read.GetProperty("updated_by").GetString());
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/models/{model}/versions/1/card");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/markdown"));
        using (var markdown = await client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, markdown.StatusCode);
            Assert.Equal("text/markdown", markdown.Content.Headers.ContentType?.MediaType);
            var text = await markdown.Content.ReadAsStringAsync();
            Assert.StartsWith($"# Model card: {model} version 1\n", text);
            Assert.Contains("| Owner | vision-team |", text);
            Assert.Contains("| Git commit | `b09ce7bf0a6ce86de41737ff98c65841be747f0c` |", text);
            Assert.Contains("| Data | sklearn://datasets/load_digits (version scikit-learn 1.2.1) |", text);
            Assert.Contains("## Intended use\n\nReading **handwritten digits** on scanned forms.\n", text);
            Assert.Contains("- Not tested on | pipes\n", text);
            Assert.Contains("| recall | left-handed | 0.95 |", text);
            Assert.Contains("## Fairness notes", text);
        }

        var replaced = await PutCardAsync(client, model, 1, """{"owner": "platform-team", "limitations": "No longer maintained."}""", HttpStatusCode.OK);
        Assert.False(replaced.TryGetProperty("intended_use", out _));
        using var second = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/models/{model}/versions/1/card");
        second.Headers.Accept.ParseAdd("application/json;q=0.5, text/markdown");
        var secondText = await (await client.SendAsync(second)).Content.ReadAsStringAsync();
        // Without metrics in the card, the lineage's are shown and said to come from there.
        Assert.Contains("From the version's lineage", secondText);
        Assert.Contains("| test_accuracy | 0.971111 |", secondText);

        var audit = await RegistryModelTests.AuditAsync(hyperion, model);
        var updates = audit.Where(a => a.Action == "version.card_updated").ToList();
        Assert.Equal(2, updates.Count);
        Assert.Equal("", updates[0].Before);
        Assert.Contains("vision-team", updates[1].Before);
        Assert.Contains("platform-team", updates[1].After);
    }

    [Fact]
    public async Task A_card_with_mistakes_is_refused_with_every_field_named_and_an_infer_key_cannot_write_one()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("cardbad");
        await CreateModelAsync(client, model);
        await UploadOkAsync(client, model, Digits);
        var url = $"/api/v1/models/{model}/versions/1/card";

        using (var response = await client.PutAsync(url, Json("""{"intended_use": 5, "evaluation_metrics": {"accuracy": "high"}, "owner": "", "licence": "MIT"}""")))
        {
            var errors = (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("errors");
            Assert.StartsWith("must be text, or a list of strings", errors.GetProperty("intended_use")[0].GetString());
            Assert.StartsWith("must be a number, or an object of slice → number", errors.GetProperty("evaluation_metrics.accuracy")[0].GetString());
            Assert.StartsWith("must be a single line of text", errors.GetProperty("owner")[0].GetString());
            Assert.Contains("unknown field 'licence'", errors.GetProperty("licence")[0].GetString());
        }
        using (var response = await client.PutAsync(url, Json("{}")))
        {
            Assert.StartsWith("give at least one of intended_use", (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("errors").GetProperty("card")[0].GetString());
        }
        using (var response = await client.PutAsync($"/api/v1/models/{model}/versions/2/card", Json("""{"owner": "x"}""")))
        {
            Assert.Contains("has no version 2", (await ProblemAsync(response, HttpStatusCode.NotFound)).GetProperty("detail").GetString());
        }
        using (var response = await client.PutAsync(url, new StringContent("owner=x", Encoding.UTF8, "text/plain")))
        {
            await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        }
        var infer = await hyperion.CreateKeyAsync(["infer"]);
        using var inferClient = hyperion.CreateApiClient(key: infer.Key);
        using (var response = await inferClient.PutAsync(url, Json("""{"owner": "x"}""")))
        {
            await ProblemAsync(response, HttpStatusCode.Forbidden);
        }
        Assert.DoesNotContain(await RegistryModelTests.AuditAsync(hyperion, model), a => a.Action == "version.card_updated");
    }

    [Fact]
    public async Task In_the_database_a_versions_stage_may_change_and_nothing_else_with_it()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("stagedb");
        await CreateModelAsync(client, model);
        await UploadOkAsync(client, model, Digits);

        await using var connection = new Npgsql.NpgsqlConnection(hyperion.GetConnectionString("hyperion"));
        await connection.OpenAsync();
        await using (var both = new Npgsql.NpgsqlCommand("UPDATE model_versions SET stage = 'archived', lineage = '{\"x\": 1}' WHERE model = $1", connection))
        {
            both.Parameters.Add(new Npgsql.NpgsqlParameter { Value = model });
            var error = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => both.ExecuteNonQueryAsync());
            Assert.Contains("model versions are immutable", error.MessageText);
        }
        await using (var unknown = new Npgsql.NpgsqlCommand("UPDATE model_versions SET stage = 'retired' WHERE model = $1", connection))
        {
            unknown.Parameters.Add(new Npgsql.NpgsqlParameter { Value = model });
            Assert.Contains("model_versions_stage", (await Assert.ThrowsAsync<Npgsql.PostgresException>(() => unknown.ExecuteNonQueryAsync())).ConstraintName);
        }
        await using (var stage = new Npgsql.NpgsqlCommand("UPDATE model_versions SET stage = 'archived' WHERE model = $1", connection))
        {
            stage.Parameters.Add(new Npgsql.NpgsqlParameter { Value = model });
            Assert.Equal(1, await stage.ExecuteNonQueryAsync());
        }
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static Task<HttpResponseMessage> StageAsync(HttpClient client, string model, long version, string body) =>
        client.PostAsync($"/api/v1/models/{model}/versions/{version}/stage", Json(body));

    private static async Task<JsonElement> PutCardAsync(HttpClient client, string model, long version, string card, HttpStatusCode expected)
    {
        using var response = await client.PutAsync($"/api/v1/models/{model}/versions/{version}/card", Json(card));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"PUT card: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>The reason recorded with the model's <paramref name="index"/>th entry of <paramref name="action"/>.</summary>
    private async Task<string?> AuditReasonAsync(string model, string action, int index)
    {
        await using var connection = new Npgsql.NpgsqlConnection(hyperion.GetConnectionString("hyperion"));
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT details ->> 'reason' FROM audit_log WHERE model = $1 AND action = $2 ORDER BY id", connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = model });
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = action });
        var reasons = new List<string?>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            reasons.Add(reader.IsDBNull(0) ? null : reader.GetString(0));
        }
        return reasons[index];
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using Npgsql;
using static Hyperion.Tests.ControlPlane.RegistryTestData;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Models: create, list and filter, get, update; bad input answered with problems that say what was expected.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class RegistryModelTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task A_created_model_is_listed_filtered_by_tag_and_task_and_fetched()
    {
        using var client = hyperion.CreateApiClient();
        var team = Guid.NewGuid().ToString("N");
        var vision = UniqueName("vision");
        var prices = UniqueName("prices");
        using (var created = await client.PostAsJsonAsync("/api/v1/models", new
        {
            name = vision,
            task = "classification",
            description = "handwritten digits",
            tags = new Dictionary<string, string> { ["team"] = team, ["stage"] = "dev" },
        }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal($"/api/v1/models/{vision}", created.Headers.Location?.OriginalString);
            using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
            Assert.Equal(vision, body.RootElement.GetProperty("name").GetString());
            Assert.Equal("classification", body.RootElement.GetProperty("task").GetString());
            Assert.Equal("dev", body.RootElement.GetProperty("tags").GetProperty("stage").GetString());
            Assert.StartsWith("key:bootstrap-admin", body.RootElement.GetProperty("owner").GetString());
            Assert.Equal(0, body.RootElement.GetProperty("version_count").GetInt64());
            Assert.False(body.RootElement.TryGetProperty("latest_version", out _));
        }
        await CreateModelAsync(client, prices, "regression", new Dictionary<string, string> { ["team"] = team });

        Assert.Equal([prices, vision], await NamesAsync(client, $"/api/v1/models?tag=team:{team}"));
        Assert.Equal([vision], await NamesAsync(client, $"/api/v1/models?tag=team:{team}&tag=stage:dev"));
        Assert.Equal([vision], await NamesAsync(client, $"/api/v1/models?tag=team:{team}&tag=stage"));
        Assert.Equal([prices], await NamesAsync(client, $"/api/v1/models?tag=team:{team}&task=regression"));
        Assert.Empty(await NamesAsync(client, $"/api/v1/models?tag=team:{team}&tag=stage:prod"));
        Assert.Contains(vision, await NamesAsync(client, "/api/v1/models"));

        using var fetched = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{vision}"));
        Assert.Equal("handwritten digits", fetched.RootElement.GetProperty("description").GetString());
        Assert.Empty(fetched.RootElement.GetProperty("versions").EnumerateArray());
    }

    [Fact]
    public async Task A_duplicate_name_is_refused_with_409()
    {
        using var client = hyperion.CreateApiClient();
        var name = UniqueName("dup");
        await CreateModelAsync(client, name);
        using var response = await client.PostAsJsonAsync("/api/v1/models", new { name, task = "regression" });
        var problem = await ProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Contains($"'{name}' already exists", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Invalid_fields_are_each_named_with_what_was_expected()
    {
        using var client = hyperion.CreateApiClient();
        using var response = await client.PostAsJsonAsync("/api/v1/models", new
        {
            name = "-starts-with-dash",
            task = "guessing",
            tags = new { team = 7 },
            colour = "blue",
        });
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.Contains("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", errors.GetProperty("name")[0].GetString());
        Assert.Contains("classification, regression", errors.GetProperty("task")[0].GetString());
        Assert.Contains("'team' must have a string value", errors.GetProperty("tags")[0].GetString());
        Assert.Contains("unknown field", errors.GetProperty("colour")[0].GetString());
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_refused_with_415_or_400()
    {
        using var client = hyperion.CreateApiClient();
        using (var text = await client.PostAsync("/api/v1/models", new StringContent("name=digits", Encoding.UTF8, "text/plain")))
        {
            Assert.Contains("Content-Type: application/json", (await ProblemAsync(text, HttpStatusCode.UnsupportedMediaType)).GetProperty("detail").GetString());
        }
        using var broken = await client.PostAsync("/api/v1/models", new StringContent("{\"name\": ", Encoding.UTF8, "application/json"));
        Assert.Contains("not valid JSON", (await ProblemAsync(broken, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Unknown_models_are_404_naming_them()
    {
        using var client = hyperion.CreateApiClient();
        foreach (var path in new[] { "/api/v1/models/no-such-model", "/api/v1/models/no-such-model/versions", "/api/v1/models/no-such-model/versions/1" })
        {
            using var response = await client.GetAsync(path);
            Assert.Contains("'no-such-model'", (await ProblemAsync(response, HttpStatusCode.NotFound)).GetProperty("detail").GetString());
        }
        using var upload = await client.PostAsync("/api/v1/models/no-such-model/versions", Upload(Digits));
        Assert.Contains("'no-such-model'", (await ProblemAsync(upload, HttpStatusCode.NotFound)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Tag_and_task_filters_that_cannot_match_anything_are_400()
    {
        using var client = hyperion.CreateApiClient();
        using (var response = await client.GetAsync("/api/v1/models?task=guessing"))
        {
            Assert.Contains("classification", (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
        }
        using var badTag = await client.GetAsync("/api/v1/models?tag=:value");
        Assert.Contains("key:value", (await ProblemAsync(badTag, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Patch_changes_description_and_tags_and_is_audited()
    {
        using var client = hyperion.CreateApiClient();
        var name = UniqueName("patch");
        await CreateModelAsync(client, name, tags: new { stage = "dev" });
        using var response = await client.PatchAsJsonAsync($"/api/v1/models/{name}", new { description = "now documented", tags = new { stage = "prod" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var model = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{name}"));
        Assert.Equal("now documented", model.RootElement.GetProperty("description").GetString());
        Assert.Equal("prod", model.RootElement.GetProperty("tags").GetProperty("stage").GetString());

        var audit = await AuditAsync(name);
        Assert.Equal(["model.created", "model.updated"], audit.Select(a => a.Action));
        Assert.Contains("\"dev\"", audit[1].Before);
        Assert.Contains("\"prod\"", audit[1].After);
        Assert.All(audit, a => Assert.StartsWith("key:bootstrap-admin", a.Actor));
    }

    [Fact]
    public async Task A_key_with_only_the_infer_scope_is_refused_and_a_deploy_key_may_register()
    {
        var infer = await hyperion.CreateKeyAsync(["infer"]);
        using var inferClient = hyperion.CreateApiClient(key: infer.Key);
        var name = UniqueName("scoped");
        using (var list = await inferClient.GetAsync("/api/v1/models"))
        {
            Assert.Contains("'deploy' or 'admin'", (await ProblemAsync(list, HttpStatusCode.Forbidden)).GetProperty("detail").GetString());
        }
        using (var create = await inferClient.PostAsJsonAsync("/api/v1/models", new { name, task = "classification" }))
        {
            await ProblemAsync(create, HttpStatusCode.Forbidden);
        }

        var deploy = await hyperion.CreateKeyAsync(["deploy"]);
        using var deployClient = hyperion.CreateApiClient(key: deploy.Key);
        await CreateModelAsync(deployClient, name);
        using (var upload = await inferClient.PostAsync($"/api/v1/models/{name}/versions", Upload(Digits)))
        {
            await ProblemAsync(upload, HttpStatusCode.Forbidden);
        }
        using (var download = await inferClient.GetAsync($"/api/v1/models/{name}/versions/1/artifact"))
        {
            await ProblemAsync(download, HttpStatusCode.Forbidden);
        }
        var version = await UploadOkAsync(deployClient, name, Digits);
        Assert.StartsWith($"key:{deploy.Body.GetProperty("name").GetString()}", version.GetProperty("created_by").GetString());
    }

    [Fact]
    public async Task The_openapi_document_describes_the_registry()
    {
        using var client = hyperion.CreateHttpClient("orchestrator");
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");
        Assert.Equal("CreateModel", paths.GetProperty("/api/v1/models").GetProperty("post").GetProperty("operationId").GetString());
        var upload = paths.GetProperty("/api/v1/models/{model}/versions").GetProperty("post");
        Assert.Equal("UploadModelVersion", upload.GetProperty("operationId").GetString());
        Assert.True(upload.GetProperty("requestBody").GetProperty("content").TryGetProperty("multipart/form-data", out _));
        Assert.True(paths.TryGetProperty("/api/v1/models/{model}/versions/{version}/artifact", out _));
        Assert.False(paths.TryGetProperty("/internal/v1/artifacts/{digest}", out _));
    }

    internal static async Task<List<(string Action, string Actor, string? Target, string Before, string After)>> AuditAsync(HyperionAppFixture hyperion, string model)
    {
        await using var connection = new NpgsqlConnection(hyperion.GetConnectionString("hyperion"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT action, actor, target, coalesce(before::text, ''), coalesce(after::text, '') FROM audit_log WHERE model = $1 ORDER BY id", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = model });
        await using var reader = await command.ExecuteReaderAsync();
        var entries = new List<(string, string, string?, string, string)>();
        while (await reader.ReadAsync())
        {
            entries.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3), reader.GetString(4)));
        }
        return entries;
    }

    private Task<List<(string Action, string Actor, string? Target, string Before, string After)>> AuditAsync(string model) => AuditAsync(hyperion, model);

    private static async Task<string[]> NamesAsync(HttpClient client, string path)
    {
        using var list = JsonDocument.Parse(await client.GetStringAsync(path));
        return [.. list.RootElement.EnumerateArray().Select(m => m.GetProperty("name").GetString()!)];
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using static Hyperion.Tests.ControlPlane.RegistryTestData;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Versions: streamed upload, validation with ONNX Runtime, metadata and artifact back, numbering.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class RegistryVersionTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task Uploading_the_digits_model_registers_version_1_with_its_digest_lineage_and_profile()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("digits");
        await CreateModelAsync(client, model);
        var artifact = Digits;

        using var form = Upload(artifact, lineage: Lineage, baselineProfile: BaselineProfile);
        using var response = await client.PostAsync($"/api/v1/models/{model}/versions", form);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        Assert.Equal($"/api/v1/models/{model}/versions/1", response.Headers.Location?.OriginalString);
        using var created = JsonDocument.Parse(text);
        Assert.Equal(model, created.RootElement.GetProperty("model").GetString());
        Assert.Equal(1, created.RootElement.GetProperty("version").GetInt64());
        Assert.Equal(Sha256(artifact), created.RootElement.GetProperty("digest").GetString());
        Assert.Equal(artifact.Length, created.RootElement.GetProperty("size_bytes").GetInt64());

        using var metadata = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{model}/versions/1"));
        var version = metadata.RootElement;
        Assert.Equal(Sha256(artifact), version.GetProperty("digest").GetString());
        Assert.StartsWith("key:bootstrap-admin", version.GetProperty("created_by").GetString());
        // The signature as ONNX Runtime reads it, the config completed from it (batchable: Triton's default 4).
        var input = version.GetProperty("signature").GetProperty("inputs")[0];
        Assert.Equal("pixels", input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal([-1L, 64L], input.GetProperty("dims").EnumerateArray().Select(d => d.GetInt64()));
        var config = version.GetProperty("config");
        Assert.Equal(model, config.GetProperty("name").GetString());
        Assert.Equal("onnxruntime", config.GetProperty("platform").GetString());
        Assert.Equal(4, config.GetProperty("max_batch_size").GetInt32());
        Assert.Equal([64L], config.GetProperty("input")[0].GetProperty("dims").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal(JsonValueKind.Object, config.GetProperty("dynamic_batching").ValueKind);
        // Lineage and profile kept as given, unknown fields included.
        using var lineage = JsonDocument.Parse(Lineage);
        Assert.Equal(lineage.RootElement.GetProperty("git_commit").GetString(), version.GetProperty("lineage").GetProperty("git_commit").GetString());
        Assert.Equal(0.971111, version.GetProperty("lineage").GetProperty("evaluation_metrics").GetProperty("test_accuracy").GetDouble());
        Assert.Equal("1.12.0", version.GetProperty("lineage").GetProperty("framework").GetProperty("onnx").GetString());
        Assert.Equal(64, version.GetProperty("baseline_profile").GetProperty("features").GetArrayLength());

        using var detail = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/models/{model}"));
        Assert.Equal(1, detail.RootElement.GetProperty("latest_version").GetInt64());
        Assert.Equal(Sha256(artifact), detail.RootElement.GetProperty("versions")[0].GetProperty("digest").GetString());

        var audit = await RegistryModelTests.AuditAsync(hyperion, model);
        var registered = Assert.Single(audit, a => a.Action == "version.registered");
        Assert.Equal("version 1", registered.Target);
        Assert.Contains(Sha256(artifact), registered.After);
    }

    [Fact]
    public async Task The_artifact_comes_back_byte_identical_from_the_api_and_the_internal_route()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("roundtrip");
        await CreateModelAsync(client, model);
        var artifact = Digits;
        var digest = (await UploadOkAsync(client, model, artifact)).GetProperty("digest").GetString()!;

        using var download = await client.GetAsync($"/api/v1/models/{model}/versions/1/artifact");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("application/octet-stream", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"\"{digest}\"", download.Headers.ETag?.Tag);
        Assert.Equal("sha-256=" + Convert.ToBase64String(Convert.FromHexString(digest["sha256:".Length..])), download.Headers.GetValues("Digest").Single());
        Assert.Equal(artifact, await download.Content.ReadAsByteArrayAsync());

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/api/v1/models/{model}/versions/1/artifact"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(artifact.Length, head.Content.Headers.ContentLength);
        Assert.Equal($"\"{digest}\"", head.Headers.ETag?.Tag);

        using var cached = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/models/{model}/versions/1/artifact");
        cached.Headers.IfNoneMatch.Add(new EntityTagHeaderValue($"\"{digest}\""));
        using var notModified = await client.SendAsync(cached);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var cluster = hyperion.CreateHttpClient("orchestrator");
        using var internalDownload = await cluster.GetAsync(Contracts.ControlPlane.ControlPlaneRoutes.ArtifactFor(digest));
        Assert.Equal(HttpStatusCode.OK, internalDownload.StatusCode);
        Assert.Equal(artifact, await internalDownload.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task The_internal_artifact_route_answers_400_for_a_malformed_digest_and_404_for_an_unknown_one()
    {
        using var cluster = hyperion.CreateHttpClient("orchestrator");
        using (var malformed = await cluster.GetAsync("/internal/v1/artifacts/md5:abc"))
        {
            Assert.Contains("sha256:<64 lowercase hex digits>", (await ProblemAsync(malformed, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
        }
        using var unknown = await cluster.GetAsync(Contracts.ControlPlane.ControlPlaneRoutes.ArtifactFor("sha256:" + new string('0', 64)));
        await ProblemAsync(unknown, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_second_upload_is_version_2_and_versions_list_newest_first()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("two");
        await CreateModelAsync(client, model);
        await UploadOkAsync(client, model, Digits);
        var second = await UploadOkAsync(client, model, Model("mlp_small"));
        Assert.Equal(2, second.GetProperty("version").GetInt64());
        Assert.Equal(new long[] { 2, 1 }, await VersionNumbersAsync(client, model));

        using var missing = await client.GetAsync($"/api/v1/models/{model}/versions/3");
        Assert.Contains("no version 3", (await ProblemAsync(missing, HttpStatusCode.NotFound)).GetProperty("detail").GetString());
        using var notANumber = await client.GetAsync($"/api/v1/models/{model}/versions/latest");
        Assert.Contains("positive integer", (await ProblemAsync(notANumber, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Uploads_are_counted_by_outcome_in_the_metrics()
    {
        using var client = hyperion.CreateApiClient();
        using var scraper = hyperion.CreateHttpClient("orchestrator");
        var model = UniqueName("metered");
        await CreateModelAsync(client, model);
        var registered = await CountAsync(scraper, "registered");
        var unprocessable = await CountAsync(scraper, "unprocessable");

        await UploadOkAsync(client, model, Digits);
        using (await client.PostAsync($"/api/v1/models/{model}/versions", Upload(new byte[100])))
        {
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await CountAsync(scraper, "registered") <= registered || await CountAsync(scraper, "unprocessable") <= unprocessable)
        {
            Assert.True(DateTime.UtcNow < deadline, await scraper.GetStringAsync("/metrics"));
            await Task.Delay(200);
        }
    }

    private static async Task<double> CountAsync(HttpClient scraper, string outcome)
    {
        var text = await scraper.GetStringAsync("/metrics");
        return text.Split('\n')
            .Where(line => line.StartsWith("hyperion_orchestrator_version_uploads_total{", StringComparison.Ordinal)
                && line.Contains($"outcome=\"{outcome}\"", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_registered_version_cannot_be_changed_even_in_the_database()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("immutable");
        await CreateModelAsync(client, model);
        await UploadOkAsync(client, model, Digits);

        await using var connection = new Npgsql.NpgsqlConnection(hyperion.GetConnectionString("hyperion"));
        await connection.OpenAsync();
        await using var update = new Npgsql.NpgsqlCommand("UPDATE model_versions SET lineage = '{}' WHERE model = $1", connection);
        update.Parameters.Add(new Npgsql.NpgsqlParameter { Value = model });
        var error = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => update.ExecuteNonQueryAsync());
        Assert.Contains("model versions are immutable", error.MessageText);
    }

    [Fact]
    public async Task Concurrent_uploads_to_one_model_get_distinct_consecutive_numbers()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("race");
        await CreateModelAsync(client, model);
        var uploads = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => UploadOkAsync(client, model, Digits)));
        Assert.Equal([1L, 2L, 3L, 4L, 5L], uploads.Select(u => u.GetProperty("version").GetInt64()).Order());
    }

    [Fact]
    public async Task A_file_that_is_not_onnx_is_refused_with_422_and_the_reason_and_registers_nothing()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("corrupt");
        await CreateModelAsync(client, model);
        var garbage = new byte[4096];
        new Random(42).NextBytes(garbage);

        using var response = await client.PostAsync($"/api/v1/models/{model}/versions", Upload(garbage));
        var detail = (await ProblemAsync(response, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString();
        Assert.Contains("ONNX Runtime cannot load the artifact", detail);
        Assert.DoesNotContain("staging", detail);
        Assert.Empty(await VersionNumbersAsync(client, model));
        using var cluster = hyperion.CreateHttpClient("orchestrator");
        using var blob = await cluster.GetAsync(Contracts.ControlPlane.ControlPlaneRoutes.ArtifactFor(Sha256(garbage)));
        Assert.Equal(HttpStatusCode.NotFound, blob.StatusCode);
    }

    [Theory]
    [InlineData("""{"input": [{"name": "pixels", "datatype": "FP64", "dims": [64]}]}""", "input 'pixels' has datatype FP64, but the model's is FP32")]
    [InlineData("""{"input": [{"name": "image", "datatype": "FP32", "dims": [64]}]}""", "input 'image' is not an input of the model")]
    [InlineData("""{"max_batch_size": 0, "input": [{"name": "pixels", "datatype": "FP32", "dims": [64]}]}""", "has dims [64], but the model's are [-1,64]")]
    [InlineData("""{"name": "other", "max_batch_size": 8}""", "name 'other' does not match")]
    [InlineData("""{"max_batch_size": 0, "dynamic_batching": {}}""", "dynamic_batching needs max_batch_size > 0")]
    public async Task A_config_that_does_not_match_the_model_is_refused_with_422(string config, string expected)
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("mismatch");
        await CreateModelAsync(client, model);
        using var response = await client.PostAsync($"/api/v1/models/{model}/versions", Upload(Digits, config: config));
        var detail = (await ProblemAsync(response, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString();
        Assert.Contains(expected, detail);
        Assert.Contains("pixels FP32 [-1,64]", detail);
        Assert.Empty(await VersionNumbersAsync(client, model));
    }

    [Fact]
    public async Task Max_batch_size_on_a_model_without_a_batch_dimension_is_refused_with_422()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("fixed");
        await CreateModelAsync(client, model);
        using var response = await client.PostAsync($"/api/v1/models/{model}/versions", Upload(Model("fixed_no_batch"), config: """{"max_batch_size": 4}"""));
        Assert.Contains("set max_batch_size to 0", (await ProblemAsync(response, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_matching_config_is_kept_and_completed()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("configured");
        await CreateModelAsync(client, model);
        var version = await UploadOkAsync(client, model, Digits, config: """
            {"max_batch_size": 16, "dynamic_batching": {"max_queue_delay_microseconds": 500}, "instance_group": [{"count": 2, "kind": "cpu"}]}
            """);
        var config = version.GetProperty("config");
        Assert.Equal(16, config.GetProperty("max_batch_size").GetInt32());
        Assert.Equal(500, config.GetProperty("dynamic_batching").GetProperty("max_queue_delay_microseconds").GetInt64());
        Assert.Equal(2, config.GetProperty("instance_group")[0].GetProperty("count").GetInt32());
        Assert.Equal("probabilities", config.GetProperty("output")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Malformed_uploads_are_refused_with_what_was_expected()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("malformed");
        await CreateModelAsync(client, model);
        var url = $"/api/v1/models/{model}/versions";

        using (var json = await client.PostAsync(url, new StringContent("{}", Encoding.UTF8, "application/json")))
        {
            Assert.Contains("multipart/form-data", (await ProblemAsync(json, HttpStatusCode.UnsupportedMediaType)).GetProperty("detail").GetString());
        }
        using (var noArtifact = new MultipartFormDataContent { { new StringContent("{}"), "lineage" } })
        using (var response = await client.PostAsync(url, noArtifact))
        {
            Assert.Contains("no 'artifact' part", (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
        }
        using (var unknown = Upload(Digits))
        {
            unknown.Add(new StringContent("x"), "readme");
            using var response = await client.PostAsync(url, unknown);
            Assert.Contains("unknown part 'readme'", (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
        }
        using (var response = await client.PostAsync(url, Upload(Digits, config: "{\"max_batch_size\": ")))
        {
            Assert.Contains("config is not a valid model config", (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
        }
        using (var response = await client.PostAsync(url, Upload(Digits, config: """{"max_batch_sise": 4}""")))
        {
            Assert.Contains("max_batch_sise", (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
        }
        using (var response = await client.PostAsync(url, Upload(Digits, lineage: "[1, 2]")))
        {
            Assert.Contains("part 'lineage' must hold a JSON object", (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
        }
        using (var response = await client.PostAsync(url, Upload(Digits, lineage: """{"git_commit": 42, "evaluation_metrics": {"accuracy": "high"}}""")))
        {
            var errors = (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("errors");
            Assert.Equal("must be a string", errors.GetProperty("lineage.git_commit")[0].GetString());
            Assert.Equal("must be a number", errors.GetProperty("lineage.evaluation_metrics.accuracy")[0].GetString());
        }
        Assert.Empty(await VersionNumbersAsync(client, model));
    }

    [Fact]
    public async Task A_baseline_profile_of_the_wrong_shape_is_400_and_one_that_does_not_fit_the_model_is_422()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("profile");
        await CreateModelAsync(client, model);
        var url = $"/api/v1/models/{model}/versions";

        var profile = System.Text.Json.Nodes.JsonNode.Parse(BaselineProfile)!.AsObject();
        profile["features"]![3]!["counts"]!.AsArray().RemoveAt(0);
        profile["rows"] = 0;
        using (var response = await client.PostAsync(url, Upload(Digits, baselineProfile: profile.ToJsonString())))
        {
            var errors = (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("errors");
            Assert.Contains("10 counts, one per bin", errors.GetProperty("baseline_profile.features[3].counts")[0].GetString());
            Assert.Contains("integer ≥ 1", errors.GetProperty("baseline_profile.rows")[0].GetString());
        }

        var wrongInput = System.Text.Json.Nodes.JsonNode.Parse(BaselineProfile)!.AsObject();
        wrongInput["input"] = "image";
        using (var response = await client.PostAsync(url, Upload(Digits, baselineProfile: wrongInput.ToJsonString())))
        {
            Assert.Contains("'image' is not an input of the model", (await ProblemAsync(response, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString());
        }

        var outOfRow = System.Text.Json.Nodes.JsonNode.Parse(BaselineProfile)!.AsObject();
        outOfRow["features"]![63]!["index"] = 64;
        using (var response = await client.PostAsync(url, Upload(Digits, baselineProfile: outOfRow.ToJsonString())))
        {
            Assert.Contains("has index 64, but a row of input 'pixels' has 64 values", (await ProblemAsync(response, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString());
        }
        Assert.Empty(await VersionNumbersAsync(client, model));
    }
}

using System.Net;
using System.Text.Json;

namespace Hyperion.Tests.Protocol.Server;

[Collection(StandaloneServerCollection.Name)]
public sealed class RestMetadataAndRepositoryTests(StandaloneServer server)
{
    private HttpClient Http => server.Http;

    [Fact]
    public async Task Health_routes_answer_live_and_ready()
    {
        var (live, liveBody) = await ProtocolClient.GetJsonAsync(Http, "/v2/health/live");
        var (ready, readyBody) = await ProtocolClient.GetJsonAsync(Http, "/v2/health/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.True(liveBody.RootElement.GetProperty("live").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.True(readyBody.RootElement.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task Server_metadata_names_the_server_and_its_extensions()
    {
        var (response, body) = await ProtocolClient.GetJsonAsync(Http, "/v2");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("hyperion", body.RootElement.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("version").GetString()));
        var extensions = body.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("binary_tensor_data", extensions);
        Assert.Contains("model_repository", extensions);
    }

    [Theory]
    [InlineData("/v2/models/simple")]
    [InlineData("/v2/models/simple/versions/1")]
    public async Task Model_metadata_lists_tensors_with_OIP_datatypes_and_the_batch_dimension(string path)
    {
        var (response, body) = await ProtocolClient.GetJsonAsync(Http, path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = body.RootElement;
        Assert.Equal("simple", root.GetProperty("name").GetString());
        Assert.Equal(["1"], root.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("onnxruntime", root.GetProperty("platform").GetString());
        Assert.Equal(
            """[{"name":"INPUT0","datatype":"INT32","shape":[-1,16]},{"name":"INPUT1","datatype":"INT32","shape":[-1,16]}]""",
            root.GetProperty("inputs").GetRawText());
        Assert.Equal(
            """[{"name":"OUTPUT0","datatype":"INT32","shape":[-1,16]},{"name":"OUTPUT1","datatype":"INT32","shape":[-1,16]}]""",
            root.GetProperty("outputs").GetRawText());
    }

    [Fact]
    public async Task A_model_without_a_batch_dimension_publishes_its_dims_as_they_are()
    {
        var (_, body) = await ProtocolClient.GetJsonAsync(Http, "/v2/models/fixed_no_batch");

        Assert.Equal("[4]", body.RootElement.GetProperty("inputs")[0].GetProperty("shape").GetRawText());
    }

    [Fact]
    public async Task Model_configuration_is_served()
    {
        var (response, body) = await ProtocolClient.GetJsonAsync(Http, "/v2/models/mlp_small/config");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("mlp_small", body.RootElement.GetProperty("name").GetString());
        Assert.True(body.RootElement.GetProperty("max_batch_size").GetInt32() > 0);
        Assert.Equal("FP32", body.RootElement.GetProperty("input")[0].GetProperty("datatype").GetString());
    }

    [Theory]
    [InlineData("/v2/models/simple/ready")]
    [InlineData("/v2/models/simple/versions/1/ready")]
    public async Task A_loaded_model_is_ready(string path)
    {
        var (response, body) = await ProtocolClient.GetJsonAsync(Http, path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(body.RootElement.GetProperty("ready").GetBoolean());
    }

    [Theory]
    [InlineData("/v2/models/no_such_model", "no_such_model")]
    [InlineData("/v2/models/no_such_model/ready", "no_such_model")]
    [InlineData("/v2/models/simple/versions/9", "version '9'")]
    [InlineData("/v2/models/simple/versions/9/ready", "version '9'")]
    public async Task Unknown_models_and_versions_answer_404_with_an_error_naming_them(string path, string named)
    {
        var (response, body) = await ProtocolClient.GetJsonAsync(Http, path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains(named, body.Error());
    }

    [Fact]
    public async Task Repository_index_lists_every_model_with_its_state_and_why_a_load_failed()
    {
        var (response, body) = await ProtocolClient.PostJsonAsync(Http, "/v2/repository/index", "");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var entries = body.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
        Assert.Equal("READY", entries["simple"].GetProperty("state").GetString());
        Assert.Equal("1", entries["simple"].GetProperty("version").GetString());
        Assert.Equal("UNAVAILABLE", entries[StandaloneServer.BrokenModel].GetProperty("state").GetString());
        Assert.False(string.IsNullOrEmpty(entries[StandaloneServer.BrokenModel].GetProperty("reason").GetString()));

        var (_, readyOnly) = await ProtocolClient.PostJsonAsync(Http, "/v2/repository/index", """{"ready":true}""");
        var names = readyOnly.RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToList();
        Assert.Contains("simple", names);
        Assert.DoesNotContain(StandaloneServer.BrokenModel, names);
    }

    [Fact]
    public async Task A_model_that_failed_to_load_is_unavailable_and_the_server_stays_ready()
    {
        var (infer, body) = await ProtocolClient.PostJsonAsync(Http, $"/v2/models/{StandaloneServer.BrokenModel}/infer",
            """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""");
        var (ready, _) = await ProtocolClient.GetJsonAsync(Http, $"/v2/models/{StandaloneServer.BrokenModel}/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, infer.StatusCode);
        Assert.Contains(StandaloneServer.BrokenModel, body.Error());
        Assert.Equal(HttpStatusCode.BadRequest, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v2/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Unload_makes_a_model_unready_and_load_brings_it_back()
    {
        const string infer = $"/v2/models/{StandaloneServer.ReloadableModel}/infer";
        const string request = """{"inputs":[{"name":"input","datatype":"FP32","shape":[4],"data":[1,2,3,4]}]}""";

        var (unload, _) = await ProtocolClient.PostJsonAsync(Http, $"/v2/repository/models/{StandaloneServer.ReloadableModel}/unload", "");
        Assert.Equal(HttpStatusCode.OK, unload.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.GetAsync($"/v2/models/{StandaloneServer.ReloadableModel}/ready")).StatusCode);
        var (refused, refusal) = await ProtocolClient.PostJsonAsync(Http, infer, request);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains(StandaloneServer.ReloadableModel, refusal.Error());

        var (load, _) = await ProtocolClient.PostJsonAsync(Http, $"/v2/repository/models/{StandaloneServer.ReloadableModel}/load", "");
        Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"/v2/models/{StandaloneServer.ReloadableModel}/ready")).StatusCode);
        var (served, answer) = await ProtocolClient.PostJsonAsync(Http, infer, request);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("[2,4,6,8]", answer.Output("output").GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task Loading_a_model_that_is_not_in_the_repository_answers_404()
    {
        var (response, body) = await ProtocolClient.PostJsonAsync(Http, "/v2/repository/models/no_such_model/load", "");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no_such_model", body.Error());
    }

    [Fact]
    public async Task Kserve_v1_model_status_reports_readiness()
    {
        var (response, body) = await ProtocolClient.GetJsonAsync(Http, "/v1/models/mlp_small");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(body.RootElement.GetProperty("ready").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("/v1/models/no_such_model")).StatusCode);
    }
}

using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Contracts.Tensors;
using Hyperion.Tests.Engine;
using Hyperion.Tests.Graph;
using Hyperion.Tests.TestSupport;
using static Hyperion.Tests.ControlPlane.DeploymentTestSupport;
using static Hyperion.Tests.ControlPlane.RegistryTestData;

namespace Hyperion.Tests.ControlPlane;

/// <summary>A TorchScript model.pt through the registry, a deployment and the gateway, as a model team would send one.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class TorchScriptRegistryTests(HyperionAppFixture hyperion)
{
    private const string Model = "ts_two_outputs";

    private static byte[] ModelPt(string model = Model) => File.ReadAllBytes(TestPaths.TorchScript(model, "1/model.pt"));

    private static string Config(string model = Model) => File.ReadAllText(TestPaths.TorchScript(model, "config.json"));

    private static string ConfigWith(Action<JsonObject> change)
    {
        var config = JsonNode.Parse(Config())!.AsObject();
        change(config);
        return config.ToJsonString();
    }

    [Fact]
    public async Task An_uploaded_model_pt_is_checked_stored_deployed_and_answers_through_the_gateway_as_pytorch_does()
    {
        using var api = hyperion.CreateApiClient();
        var model = UniqueName("torchscript");
        await CreateModelAsync(api, model);
        var artifact = ModelPt();

        var uploaded = await UploadOkAsync(api, model, artifact, Config());
        Assert.Equal(Sha256(artifact), uploaded.GetProperty("digest").GetString());
        using (var metadata = JsonDocument.Parse(await api.GetStringAsync($"/api/v1/models/{model}/versions/1")))
        {
            var version = metadata.RootElement;
            Assert.Equal("torchscript", version.GetProperty("format").GetString());
            Assert.Equal("pytorch_libtorch", version.GetProperty("config").GetProperty("platform").GetString());
            Assert.Equal(4, version.GetProperty("config").GetProperty("max_batch_size").GetInt32());
            var input = version.GetProperty("signature").GetProperty("inputs")[0];
            Assert.Equal(("INPUT__0", "FP32"), (input.GetProperty("name").GetString(), input.GetProperty("datatype").GetString()));
            Assert.Equal([-1L, 4L], input.GetProperty("dims").EnumerateArray().Select(dim => dim.GetInt64()));
        }

        await PutOkAsync(api, model, """{"stable": 1}""");
        await WaitForAsync(api, model, status => IsReadyOn(status, 1, hyperion.InferenceReplicas), "the TorchScript version ready on every replica");

        using var gateway = hyperion.CreateApiClient("gateway");
        var request = new JsonObject { ["inputs"] = new JsonArray([.. TorchScriptCases.Inputs(Model).Select(input => (JsonNode)input.ToJson())]) };
        using var response = await PostRoutedAsync(gateway, $"/v2/models/{model}/infer", () => new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var outputs = JsonNode.Parse(body)!["outputs"]!.AsArray();
        Assert.Equal("1", JsonNode.Parse(body)!["model_version"]!.GetValue<string>());
        foreach (var expected in TorchScriptCases.Outputs(Model))
        {
            var served = outputs.Single(output => output!["name"]!.GetValue<string>() == expected.Name)!;
            Assert.Equal(expected.DataType.ToOipName(), served["datatype"]!.GetValue<string>());
            Assert.Equal(expected.Shape, served["shape"]!.AsArray().Select(dim => dim!.GetValue<long>()));
            expected.AssertEqual(expected.Expected(), TensorCase.Parse(expected.DataType, [.. served["data"]!.AsArray()]));
        }
    }

    public static TheoryData<string, string?, string> RefusedUploads => new()
    {
        { "ts", null, "a TorchScript model carries no signature, so its config must list every input and output" },
        { "ts", ConfigWith(config => config["output"]![0]!["datatype"] = "FP64"),
            "config: output 'OUTPUT__1' has datatype FP64 in the config, but forward() returns INT64" },
        { "ts", ConfigWith(config => config["platform"] = "onnxruntime"),
            "config: platform 'onnxruntime' says ONNX, but the artifact is a zip archive, as torch.jit.save writes" },
        { "corrupt", Config(), "the artifact is not a model that can be served: LibTorch could not load the artifact as TorchScript" },
        { "onnx", Config(), "the artifact is not a model that can be served: LibTorch could not load the artifact as TorchScript" },
    };

    [Theory]
    [MemberData(nameof(RefusedUploads))]
    public async Task An_upload_the_model_does_not_match_is_refused_with_the_reason_and_registers_nothing(string artifact, string? config, string reason)
    {
        using var api = hyperion.CreateApiClient();
        var model = UniqueName("torchscript-bad");
        await CreateModelAsync(api, model);
        var bytes = artifact switch
        {
            "ts" => ModelPt(),
            // A zip header, then nothing LibTorch can read.
            "corrupt" => [(byte)'P', (byte)'K', 3, 4, .. new byte[2048]],
            _ => Model("mlp_small"),
        };

        using var form = Upload(bytes, config);
        using var response = await api.PostAsync($"/api/v1/models/{model}/versions", form);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, body);
        Assert.Contains(reason, JsonNode.Parse(body)!["detail"]!.GetValue<string>());
        Assert.DoesNotContain("/tmp", body);
        using var versions = JsonDocument.Parse(await api.GetStringAsync($"/api/v1/models/{model}/versions"));
        var list = versions.RootElement.ValueKind == JsonValueKind.Array ? versions.RootElement : versions.RootElement.GetProperty("versions");
        Assert.Equal(0, list.GetArrayLength());
    }
}

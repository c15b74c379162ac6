using System.Globalization;
using System.Net;
using System.Text.Json;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.Gateway;
using static Hyperion.Tests.Pipelines.PipelineTestApi;

namespace Hyperion.Tests.Pipelines;

/// <summary>
/// A confidence cascade on the real graph: the digits classifier answers every image, and a second model (testdata's
/// digits_shifted, easy to tell apart: it predicts the next digit) runs only for the images whose top probability is
/// below a threshold; the pipeline's outputs take each row from the second model where it ran, else from the first.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class PipelineConditionTests(GatewayFixture hyperion)
{
    [Fact]
    public async Task Only_the_rows_where_the_condition_holds_go_to_the_conditional_step_and_the_answer_puts_the_rows_back_together()
    {
        using var api = hyperion.CreateApiClient();
        var small = await DeploymentTestSupport.RegisterDigitsAsync(api, "cascade-small", versions: 1);
        var big = await RegisterAsync(api, "digits_shifted", "cascade-big");
        await DeployAsync(hyperion, small, """{"stable": 1}""", DeploymentTestSupport.DigitsRequest);
        await DeployAsync(hyperion, big, """{"stable": 1}""", DeploymentTestSupport.DigitsRequest);
        using var gateway = hyperion.CreateGatewayClient();

        // What each model answers alone for the sample's two images (top probabilities about 0.65 and 0.95).
        using var smallAlone = await gateway.PostAsync($"/v2/models/{small}/infer", Json(DeploymentTestSupport.DigitsRequest));
        using var bigAlone = await gateway.PostAsync($"/v2/models/{big}/infer", Json(DeploymentTestSupport.DigitsRequest));
        var smallAnswer = await GatewayTestApi.JsonAsync(smallAlone);
        var bigAnswer = await GatewayTestApi.JsonAsync(bigAlone);
        var smallLabels = Output(smallAnswer, "label");
        var bigLabels = Output(bigAnswer, "label");
        var smallTop = Rows(Output(smallAnswer, "probabilities"), 10).Select(row => row.Max()).ToArray();
        Assert.True(smallTop[0] < 0.9 && smallTop[1] > 0.9, $"the sample's images are one unsure and one sure: {string.Join(", ", smallTop)}");
        Assert.NotEqual(smallLabels, bigLabels);

        var pipeline = RegistryTestData.UniqueName("cascade");
        string Cascade(double threshold) => $$$"""
            {"steps": [{"name": "small", "model": "{{{small}}}"},
                       {"name": "big", "model": "{{{big}}}", "inputs": {"pixels": "$request.pixels"},
                        "when": {"output": "small.probabilities", "reduce": "max", "op": "<", "value": {{{threshold.ToString(CultureInfo.InvariantCulture)}}}}}],
             "outputs": {"label": ["big.label", "small.label"], "probabilities": ["big.probabilities", "small.probabilities"]}}
            """;
        var created = await PutOkAsync(api, pipeline, Cascade(0.9), HttpStatusCode.Created);
        Assert.Equal("<", created["steps"]![1]!["when"]!["op"]!.GetValue<string>());
        Assert.Equal(2, created["outputs"]!["label"]!.AsArray().Count);

        // Only the unsure image goes to the big model; the sure one keeps the small model's answer.
        using (var response = await InferRoutedAsync(gateway, pipeline, () => Json(DeploymentTestSupport.DigitsRequest)))
        {
            var answer = await GatewayTestApi.JsonAsync(response);
            Assert.Equal([bigLabels[0], smallLabels[1]], Output(answer, "label"));
            var probabilities = Rows(Output(answer, "probabilities"), 10);
            Assert.Equal(Rows(Output(bigAnswer, "probabilities"), 10)[0], probabilities[0]);
            Assert.Equal(Rows(Output(smallAnswer, "probabilities"), 10)[1], probabilities[1]);
            Assert.Equal("small=1, big=1", Header(response, "X-Hyperion-Step-Versions"));
        }
        using var scraper = hyperion.CreateHttpClient("gateway");
        var rows = (await scraper.GetStringAsync("/metrics")).Split('\n').Single(line =>
            line.StartsWith("hyperion_gateway_pipeline_step_rows_total{", StringComparison.Ordinal)
            && line.Contains($"pipeline=\"{pipeline}\"", StringComparison.Ordinal) && line.Contains("step=\"big\"", StringComparison.Ordinal));
        Assert.EndsWith(" 1", rows, StringComparison.Ordinal);

        // No image below the threshold: the big model is not called at all.
        await PutOkAsync(api, pipeline, Cascade(0.5), HttpStatusCode.OK);
        await AnswerOfRevisionAsync(gateway, pipeline, "2", answer =>
        {
            Assert.Equal(smallLabels, Output(answer.Json, "label"));
            Assert.Equal("small=1", Header(answer.Response, "X-Hyperion-Step-Versions"));
        });

        // Every image below it: every row from the big model.
        await PutOkAsync(api, pipeline, Cascade(1.01), HttpStatusCode.OK);
        await AnswerOfRevisionAsync(gateway, pipeline, "3", answer =>
        {
            Assert.Equal(bigLabels, Output(answer.Json, "label"));
            Assert.Equal("small=1, big=1", Header(answer.Response, "X-Hyperion-Step-Versions"));
        });
    }

    private static async Task AnswerOfRevisionAsync(HttpClient gateway, string pipeline, string revision, Action<(HttpResponseMessage Response, JsonElement Json)> check) =>
        await GatewayTestApi.WaitUntilAsync(async () =>
        {
            using var response = await gateway.PostAsync($"/v2/pipelines/{pipeline}/infer", Json(DeploymentTestSupport.DigitsRequest));
            if (Header(response, "X-Hyperion-Pipeline-Revision") != revision)
            {
                return false; // the gateway has not heard of this revision yet
            }
            check((response, await GatewayTestApi.JsonAsync(response)));
            return true;
        }, DeploymentTestSupport.ConvergeTimeout, $"the gateway running revision {revision}");

    private static double[][] Rows(double[] flat, int width) => [.. flat.Chunk(width)];
}

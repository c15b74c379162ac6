using System.Text;
using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Captures;

namespace Hyperion.Tests.Capture;

/// <summary>How a captured OIP JSON request and response become the stored tensors (the contract the drift and quality code read).</summary>
public sealed class CaptureParserTests
{
    private const string Request = """
        {"id": "req-7", "inputs": [
          {"name": "pixels", "datatype": "FP32", "shape": [2, 3], "data": [[1, 2, 3], [4, 5, 6]]},
          {"name": "secret", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]}]}
        """;

    private const string Response = """
        {"model_name": "digits", "model_version": "1", "id": "req-7", "outputs": [
          {"name": "label", "datatype": "INT64", "shape": [2], "data": [2, 0]},
          {"name": "probabilities", "datatype": "FP32", "shape": [2, 2], "data": [0.25, 0.75, 1, 0]}]}
        """;

    [Fact]
    public void Tensors_are_stored_by_name_with_datatype_shape_and_flat_row_major_data()
    {
        var parsed = Parse(Request, Response, redact: [], keepPayload: false);

        Assert.Equal("req-7", parsed.OipId);
        Assert.Equal(2, parsed.Rows);
        var inputs = JsonNode.Parse(parsed.Inputs)!.AsObject();
        Assert.Equal(["pixels", "secret"], inputs.Select(tensor => tensor.Key));
        Assert.Equal("FP32", inputs["pixels"]!["datatype"]!.GetValue<string>());
        Assert.Equal([2, 3], inputs["pixels"]!["shape"]!.AsArray().Select(d => d!.GetValue<int>()));
        // Nested data is flattened in row-major order.
        Assert.Equal([1.0, 2, 3, 4, 5, 6], inputs["pixels"]!["data"]!.AsArray().Select(v => v!.GetValue<double>()));
        Assert.Equal(["a", "b"], inputs["secret"]!["data"]!.AsArray().Select(v => v!.GetValue<string>()));
        var outputs = JsonNode.Parse(parsed.Outputs)!.AsObject();
        Assert.Equal([2L, 0L], outputs["label"]!["data"]!.AsArray().Select(v => v!.GetValue<long>()));
        Assert.Equal([0.25, 0.75, 1, 0], outputs["probabilities"]!["data"]!.AsArray().Select(v => v!.GetValue<double>()));
        Assert.Null(parsed.Payload);
    }

    [Fact]
    public void Redacted_names_are_left_out_of_tensors_and_payload()
    {
        var parsed = Parse(Request, Response, redact: ["secret", "probabilities"], keepPayload: true);

        Assert.Equal(["pixels"], JsonNode.Parse(parsed.Inputs)!.AsObject().Select(tensor => tensor.Key));
        Assert.Equal(["label"], JsonNode.Parse(parsed.Outputs)!.AsObject().Select(tensor => tensor.Key));
        var payload = JsonNode.Parse(parsed.Payload!)!;
        Assert.Equal(["pixels"], payload["request"]!["inputs"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
        Assert.Equal(["label"], payload["response"]!["outputs"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
        Assert.DoesNotContain("\"a\"", parsed.Payload, StringComparison.Ordinal);
        Assert.Equal("req-7", payload["request"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public void Rows_come_from_the_first_input_even_when_it_is_redacted()
    {
        var parsed = Parse(Request, Response, redact: ["pixels"], keepPayload: true);
        Assert.Equal(2, parsed.Rows);
        Assert.Equal(["secret"], JsonNode.Parse(parsed.Inputs)!.AsObject().Select(tensor => tensor.Key));
    }

    [Fact]
    public void A_request_without_id_has_no_oip_id_and_a_scalar_counts_one_row()
    {
        var parsed = Parse("""{"inputs": [{"name": "x", "datatype": "FP64", "shape": [], "data": [3.5]}]}""",
            """{"outputs": [{"name": "y", "datatype": "FP64", "shape": [], "data": [7]}]}""", [], keepPayload: false);
        Assert.Null(parsed.OipId);
        Assert.Equal(1, parsed.Rows);
    }

    [Theory]
    [InlineData("not json", Response, "the request is not JSON")]
    [InlineData("[1]", Response, "the request is not a JSON object")]
    [InlineData("""{"id": "x"}""", Response, "the request has no \"inputs\" array")]
    [InlineData("""{"inputs": [{"datatype": "FP32", "shape": [1], "data": [1]}]}""", Response, "must be an object with a \"name\"")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [1], "data": [1]}]}""", Response, "request tensor 'x' has no \"datatype\"")]
    [InlineData("""{"inputs": [{"name": "x", "datatype": "FP32", "shape": ["a"], "data": [1]}]}""", Response, "request tensor 'x' has no \"shape\" array of numbers")]
    [InlineData("""{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "parameters": {"binary_data_size": 4}}]}""", Response, "request tensor 'x' has no \"data\" (binary tensors are not captured)")]
    [InlineData(Request, """{"outputs": {}}""", "the response has no \"outputs\" array")]
    [InlineData("""{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}, {"name": "x", "datatype": "FP32", "shape": [1], "data": [2]}]}""", Response, "the request names tensor 'x' twice")]
    public void What_is_not_an_OIP_JSON_exchange_is_rejected_saying_why(string request, string response, string message)
    {
        var error = Assert.Throws<CaptureFormatException>(() => Parse(request, response, [], keepPayload: false));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    private static ParsedCapture Parse(string request, string response, string[] redact, bool keepPayload) =>
        CaptureParser.Parse(Encoding.UTF8.GetBytes(request), Encoding.UTF8.GetBytes(response), redact, keepPayload);
}

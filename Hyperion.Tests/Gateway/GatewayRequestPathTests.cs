using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Hyperion.Gateway.Auth;
using Hyperion.Gateway.Caching;
using Hyperion.Gateway.Routing;
using Hyperion.Inference.Protocol.Grpc.V2;
using Microsoft.AspNetCore.Http;

namespace Hyperion.Tests.Gateway;

/// <summary>The request-path pieces that decide routing and caching, without a graph.</summary>
public sealed class GatewayRequestPathTests
{
    [Theory]
    [InlineData("POST", "/v2/models/digits/infer", "Infer", "digits", null, "/infer")]
    [InlineData("POST", "/v2/models/digits/versions/3/infer", "Infer", "digits", "3", "/infer")]
    [InlineData("GET", "/v2/models/digits", "ModelMetadata", "digits", null, "")]
    [InlineData("GET", "/v2/models/digits/versions/2/ready", "ModelMetadata", "digits", "2", "/ready")]
    [InlineData("POST", "/v1/models/digits:predict", "Infer", "digits", null, ":predict")]
    [InlineData("GET", "/v1/models/digits", "ModelMetadata", "digits", null, "")]
    [InlineData("GET", "/v2", "ServerMetadata", null, null, "")]
    [InlineData("GET", "/v2/health/ready", "Health", null, null, "")]
    [InlineData("POST", "/v2/repository/models/digits/load", "Repository", null, null, "")]
    [InlineData("GET", "/api/v1/models", "ControlPlane", null, null, "")]
    [InlineData("GET", "/v2/models/digits/infer", "Other", "digits", null, "/infer")]
    [InlineData("POST", "/v2/models//infer", "Other", null, null, "")]
    public void Paths_are_classified_by_what_they_ask(string method, string path, string kind, string? model, string? version, string rest)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        var request = RequestClassifier.Classify(context.Request);
        Assert.Equal(kind, request.Kind.ToString());
        Assert.Equal(model, request.Model);
        Assert.Equal(version, request.RequestedVersion);
        Assert.Equal(rest, request.PathRest);
    }

    [Fact]
    public void A_gRPC_message_names_its_model_and_a_pinned_version_is_the_one_the_server_reads()
    {
        var message = new ModelInferRequest { ModelName = "digits", Id = "r1" };
        message.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "pixels", Datatype = "FP32", Shape = { 1, 64 } });
        message.RawInputContents.Add(ByteString.CopyFrom(new byte[256]));
        var frame = Frame(message.ToByteArray());

        Assert.Equal(("digits", (string?)null), GrpcModelMessage.ReadModel(frame));
        var pinned = GrpcModelMessage.WithVersion(frame, "7");
        Assert.Equal(("digits", (string?)"7"), GrpcModelMessage.ReadModel(pinned));
        var parsed = ModelInferRequest.Parser.ParseFrom(pinned.AsSpan(5));
        Assert.Equal("7", parsed.ModelVersion);
        Assert.Equal("r1", parsed.Id);
        Assert.Equal(256, parsed.RawInputContents[0].Length);
        Assert.Equal(pinned.Length - 5, (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(pinned.AsSpan(1)));
    }

    [Fact]
    public void The_cache_key_ignores_whitespace_and_the_request_id_but_not_the_data()
    {
        var a = Hash("""{"id": "a", "inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}""", out var idA);
        var b = Hash("""{"id":"b","inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]}]}""", out var idB);
        var c = Hash("""{"id":"b","inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,3]}]}""", out _);
        var nested = Hash("""{"inputs":[{"id":"b","name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]}]}""", out var none);
        Assert.Equal(a, b);
        Assert.NotEqual(b, c);
        Assert.NotEqual(a, nested); // only the top-level id is left out
        Assert.Equal(("a", "b", (string?)null), (idA, idB, none));
        Assert.Null(HashOrNull("""{"inputs": [""", out _));
    }

    [Fact]
    public void Sticky_sessions_hash_the_same_everywhere_and_spread_evenly()
    {
        Assert.Equal(ArmSelector.StableHash("user-1", "digits"), ArmSelector.StableHash("user-1", "digits"));
        Assert.NotEqual(ArmSelector.StableHash("user-1", "digits"), ArmSelector.StableHash("user-1", "other"));
        var inCanary = Enumerable.Range(0, 10_000).Count(i => ArmSelector.StableHash($"user-{i}", "digits") % 10_000 < 1_000);
        Assert.InRange(inCanary, 850, 1_150); // 10 % of sessions, give or take
    }

    [Fact]
    public void Revocation_notices_name_the_same_hash_the_gateway_computes()
    {
        var key = Hyperion.Contracts.ControlPlane.ApiKeyFormat.Generate();
        Assert.True(KeyHash.TryParseHex(Hyperion.Contracts.ControlPlane.ApiKeyFormat.HashHex(key), out var fromNotice));
        Assert.Equal(KeyHash.Of(key), fromNotice);
        Assert.Equal(Hyperion.Contracts.ControlPlane.ApiKeyFormat.HashHex(key), fromNotice.ToHex());
        Assert.False(KeyHash.TryParseHex("not-hex", out _));
    }

    private static byte[] Frame(byte[] message)
    {
        var frame = new byte[message.Length + 5];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    private static string Hash(string json, out string? id) => HashOrNull(json, out id) ?? throw new InvalidOperationException("not JSON");

    private static string? HashOrNull(string json, out string? id)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        return CanonicalRequestHash.TryCompute(Encoding.UTF8.GetBytes(json), -1, hash, out id) ? Convert.ToHexString(hash.GetHashAndReset()) : null;
    }
}

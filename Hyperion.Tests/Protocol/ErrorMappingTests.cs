using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Models;
using Hyperion.Inference.Metrics;
using Hyperion.Inference.Protocol;
using Hyperion.Inference.Protocol.Grpc.V2;
using Hyperion.Inference.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Hyperion.Tests.Protocol;

/// <summary>
/// How the front ends report each engine failure, and what they hand the engine. The engine is replaced by a
/// throwaway fake here because a real one cannot be made to fail in each way on demand; the integration tests
/// under Server/ use the real engine.
/// </summary>
public sealed class ErrorMappingTests : IAsyncLifetime
{
    private readonly FakeEngine _engine = new();
    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private GrpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<InferenceMetrics>();
        builder.Services.AddSingleton<IModelCatalog>(_engine);
        builder.Services.AddSingleton<IInferenceDispatcher>(_engine);
        builder.AddInferenceProtocols();
        _app = builder.Build();
        _app.MapInferenceProtocols();
        await _app.StartAsync();
        var server = _app.GetTestServer();
        _http = server.CreateClient();
        _channel = GrpcChannel.ForAddress(server.BaseAddress, new GrpcChannelOptions { HttpHandler = server.CreateHandler() });
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        _http.Dispose();
        await _app.DisposeAsync();
    }

    public static TheoryData<InferenceErrorKind, HttpStatusCode, StatusCode> Kinds => new()
    {
        { InferenceErrorKind.InvalidArgument, HttpStatusCode.BadRequest, StatusCode.InvalidArgument },
        { InferenceErrorKind.NotFound, HttpStatusCode.NotFound, StatusCode.NotFound },
        { InferenceErrorKind.Unavailable, HttpStatusCode.ServiceUnavailable, StatusCode.Unavailable },
        { InferenceErrorKind.QueueFull, HttpStatusCode.ServiceUnavailable, StatusCode.ResourceExhausted },
        { InferenceErrorKind.Timeout, HttpStatusCode.GatewayTimeout, StatusCode.DeadlineExceeded },
        { InferenceErrorKind.TooLarge, HttpStatusCode.RequestEntityTooLarge, StatusCode.ResourceExhausted },
        { InferenceErrorKind.Internal, HttpStatusCode.InternalServerError, StatusCode.Internal },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Each_failure_kind_has_its_REST_status_and_an_error_body(InferenceErrorKind kind, HttpStatusCode status, StatusCode _)
    {
        _engine.Failure = new InferenceException(kind, $"engine says {kind}");

        var response = await _http.PostAsync("/v2/models/m/infer", Json(Request));
        using var body = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(status, response.StatusCode);
        Assert.Equal($"engine says {kind}", body.RootElement.GetProperty("error").GetString());
        Assert.Equal(kind == InferenceErrorKind.QueueFull, response.Headers.RetryAfter is not null);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Each_failure_kind_has_its_gRPC_status(InferenceErrorKind kind, HttpStatusCode _, StatusCode status)
    {
        _engine.Failure = new InferenceException(kind, $"engine says {kind}");
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);

        var error = await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(GrpcRequest()).ResponseAsync);

        Assert.Equal(status, error.StatusCode);
        Assert.Equal($"engine says {kind}", error.Status.Detail);
    }

    [Fact]
    public async Task An_unexpected_failure_is_a_500_that_does_not_leak_its_details_and_the_server_keeps_serving()
    {
        _engine.Failure = new InvalidOperationException("secret internals");

        var response = await _http.PostAsync("/v2/models/m/infer", Json(Request));
        var text = await response.Content.ReadAsStringAsync();
        var grpc = await Assert.ThrowsAsync<RpcException>(() => new GRPCInferenceService.GRPCInferenceServiceClient(_channel).ModelInferAsync(GrpcRequest()).ResponseAsync);
        _engine.Failure = null;
        var next = await _http.PostAsync("/v2/models/m/infer", Json(Request));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.DoesNotContain("secret", text);
        Assert.Contains("\"error\"", text);
        Assert.Equal(StatusCode.Internal, grpc.StatusCode);
        Assert.DoesNotContain("secret", grpc.Status.Detail);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task The_timeout_parameter_in_microseconds_reaches_the_engine_from_REST_and_gRPC()
    {
        await _http.PostAsync("/v2/models/m/versions/3/infer", Json(Request.Replace("\"inputs\"", "\"parameters\":{\"timeout\":1500},\"inputs\"")));
        var rest = _engine.LastRequest!;

        var client = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
        var request = GrpcRequest();
        request.ModelVersion = "3";
        request.Parameters["timeout"] = new InferParameter { Int64Param = 2500 };
        await client.ModelInferAsync(request);
        var grpc = _engine.LastRequest!;

        Assert.Equal((TimeSpan.FromMicroseconds(1500), "3"), rest);
        Assert.Equal((TimeSpan.FromMicroseconds(2500), "3"), grpc);
    }

    private const string Request = """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""";

    private static ModelInferRequest GrpcRequest()
    {
        var request = new ModelInferRequest { ModelName = "m" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 1 } });
        request.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(new byte[4]));
        return request;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Throws what a test sets, or echoes the first input as the output; remembers what it was asked.</summary>
    private sealed class FakeEngine : IModelCatalog, IInferenceDispatcher
    {
        public Exception? Failure { get; set; }

        public (TimeSpan? Timeout, string? Version)? LastRequest { get; private set; }

        public bool IsServerReady => true;

        public IReadOnlyList<ModelIndexEntry> Index() => [new("m", "1", ModelVersionState.Ready, null)];

        public ModelDescriptor Describe(string model, string? version) => model == "m"
            ? new ModelDescriptor("m", ["1"], new ModelConfig { Input = [new() { Name = "x", DataType = "FP32", Dims = [1] }] })
            : throw new InferenceException(InferenceErrorKind.NotFound, $"unknown model '{model}'");

        public bool IsReady(string model, string? version) => model == "m";

        public Task LoadAsync(string model, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task UnloadAsync(string model, CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
        {
            LastRequest = (request.Timeout, request.ModelVersion);
            if (Failure is { } failure)
            {
                throw failure;
            }
            var input = request.Inputs[0];
            var response = new InferenceResponse { ModelName = request.ModelName, ModelVersion = "1", Id = request.Id };
            var bytes = input.Span.ToArray();
            response.Outputs.Add(Contracts.Tensors.TensorData.Wrap("y", input.DataType, input.Shape, bytes, bytes.Length));
            return ValueTask.FromResult(response);
        }
    }
}

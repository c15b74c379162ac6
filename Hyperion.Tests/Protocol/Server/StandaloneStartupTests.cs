using System.Net;

namespace Hyperion.Tests.Protocol.Server;

/// <summary>How the standalone server starts when it is given little or bad configuration.</summary>
public sealed class StandaloneStartupTests
{
    [Fact]
    public async Task Without_a_model_repository_the_server_starts_ready_and_serves_no_models()
    {
        await using var server = await ServerProcess.StartAsync();

        var (response, index) = await ProtocolClient.PostJsonAsync(server.Http, "/v2/repository/index", "");
        var metadata = await server.Http.GetAsync("/v2/models/simple");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, index.RootElement.GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, metadata.StatusCode);
    }

    [Fact]
    public async Task A_bad_grpc_url_stops_the_server_with_a_message_naming_the_setting()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync("--grpc-url", "ftp://nowhere"));

        Assert.Contains("Inference:GrpcUrl", error.Message);
    }
}

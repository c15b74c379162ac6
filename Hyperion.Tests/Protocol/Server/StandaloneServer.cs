using Grpc.Net.Client;
using Hyperion.Inference.Protocol.Grpc.V2;

namespace Hyperion.Tests.Protocol.Server;

/// <summary>
/// The real standalone server process, as a user starts it (<c>--model-repository DIR --urls ... --grpc-url ...</c>),
/// once per collection over a copy of testdata/models plus a model that cannot load and one that only the
/// repository tests load and unload.
/// </summary>
public sealed class StandaloneServer : IAsyncLifetime
{
    /// <summary>Small enough that a test can exceed it cheaply.</summary>
    public const int MaxRequestBodyBytes = 1024 * 1024;

    public const string BrokenModel = "broken";
    public const string ReloadableModel = "reloadable";

    private ServerProcess? _server;
    private GrpcChannel? _channel;

    public string Repository { get; } = Path.Combine(Path.GetTempPath(), $"hyperion-protocol-tests-{Guid.NewGuid():N}");

    public static string TestModels => Path.Combine(ServerProcess.RepositoryRoot, "testdata", "models");

    public HttpClient Http => _server!.Http;

    public GRPCInferenceService.GRPCInferenceServiceClient Grpc { get; private set; } = null!;

    public bool HasExited => _server?.HasExited ?? true;

    public string Output => _server?.Output ?? "";

    public async Task InitializeAsync()
    {
        CopyDirectory(TestModels, Repository);
        CopyDirectory(Path.Combine(TestModels, "fixed_no_batch"), Path.Combine(Repository, ReloadableModel));
        Directory.CreateDirectory(Path.Combine(Repository, BrokenModel, "1"));
        await File.WriteAllTextAsync(Path.Combine(Repository, BrokenModel, "1", "model.onnx"), "this is not an ONNX model");

        var grpcPort = ServerProcess.FreePort();
        _server = await ServerProcess.StartAsync(
            "--model-repository", Repository,
            "--grpc-url", $"http://127.0.0.1:{grpcPort}",
            $"--Inference:MaxRequestBodyBytes={MaxRequestBodyBytes}");
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        Grpc = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        Directory.Delete(Repository, recursive: true);
    }

    private static void CopyDirectory(string source, string destination)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class StandaloneServerCollection : ICollectionFixture<StandaloneServer>
{
    public const string Name = "standalone inference server";
}

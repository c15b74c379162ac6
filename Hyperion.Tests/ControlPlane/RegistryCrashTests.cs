using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using System.Diagnostics;
using System.Net;
using System.Text;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using static Hyperion.Tests.ControlPlane.RegistryTestData;

namespace Hyperion.Tests.ControlPlane;

/// <summary>A graph of its own with a small artifact limit, for tests that kill the orchestrator or damage its store.</summary>
public sealed class RegistryCrashFixture : HyperionAppFixture
{
    public const long MaxArtifactBytes = 256 * 1024;

    public const int OrphanGraceSeconds = 600;

    public string ArtifactsPath => Path.Combine(StateDirectory, "artifacts");

    /// <summary>Unfinished uploads anywhere in the store's staging area.</summary>
    public string[] StagingFiles() => Directory.GetFiles(Path.Combine(ArtifactsPath, "staging"), "*.partial", SearchOption.AllDirectories);

    protected override void ConfigureGraph(IDistributedApplicationTestingBuilder builder)
    {
        var orchestrator = (ProjectResource)builder.Resources.Single(resource => resource.Name == "orchestrator");
        builder.CreateResourceBuilder(orchestrator)
            .WithEnvironment("Orchestrator__MaxArtifactBytes", MaxArtifactBytes.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("Orchestrator__Registry__OrphanSweepIntervalSeconds", "1")
            .WithEnvironment("Orchestrator__Registry__OrphanGraceSeconds", OrphanGraceSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}

[CollectionDefinition(Name)]
public sealed class RegistryCrashCollection : ICollectionFixture<RegistryCrashFixture>
{
    public const string Name = "Registry crash graph";
}

[Collection(RegistryCrashCollection.Name)]
public sealed class RegistryCrashTests(RegistryCrashFixture hyperion)
{
    [Fact]
    public async Task An_upload_over_the_limit_is_413_naming_the_setting_and_leaves_nothing_behind()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("oversize");
        await CreateModelAsync(client, model);
        var artifact = new byte[RegistryCrashFixture.MaxArtifactBytes + 1];
        Random.Shared.NextBytes(artifact);

        using var response = await client.PostAsync($"/api/v1/models/{model}/versions", Upload(artifact));

        var detail = (await ProblemAsync(response, HttpStatusCode.RequestEntityTooLarge)).GetProperty("detail").GetString();
        Assert.Contains($"Orchestrator:MaxArtifactBytes ({RegistryCrashFixture.MaxArtifactBytes} bytes)", detail);
        Assert.Empty(await VersionNumbersAsync(client, model));
        Assert.Empty(hyperion.StagingFiles());
        Assert.False(File.Exists(Path.Combine(hyperion.ArtifactsPath, "sha256", Sha256(artifact)[7..9], Sha256(artifact)[7..])));
        // An upload within the limit still goes through.
        Assert.Equal(1, (await UploadOkAsync(client, model, Digits)).GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task A_blob_damaged_on_disk_is_not_served_and_a_new_upload_of_the_same_file_repairs_it()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("damaged");
        await CreateModelAsync(client, model);
        var artifact = Model("mlp_small");
        var digest = (await UploadOkAsync(client, model, artifact)).GetProperty("digest").GetString()!;
        var path = BlobPath(digest);
        var damaged = File.ReadAllBytes(path);
        damaged[^10] ^= 0x01;
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllBytes(path, damaged);

        using (var response = await client.GetAsync($"/api/v1/models/{model}/versions/1/artifact"))
        {
            Assert.Contains($"artifact {digest} is corrupted", (await ProblemAsync(response, HttpStatusCode.InternalServerError)).GetProperty("detail").GetString());
        }
        using var cluster = hyperion.CreateHttpClient("orchestrator");
        using (var response = await cluster.GetAsync(ControlPlaneRoutes.ArtifactFor(digest)))
        {
            await ProblemAsync(response, HttpStatusCode.InternalServerError);
        }

        Assert.Equal(2, (await UploadOkAsync(client, model, artifact)).GetProperty("version").GetInt64());
        Assert.Equal(artifact, await client.GetByteArrayAsync($"/api/v1/models/{model}/versions/1/artifact"));
    }

    [Fact]
    public async Task A_large_damaged_blob_is_cut_off_short_of_its_length()
    {
        // Larger than one copy buffer, so the response has started when the damage is found at the end.
        var bytes = new byte[1 << 20];
        Random.Shared.NextBytes(bytes);
        var digest = Sha256(bytes);
        bytes[^1] ^= 0x01;
        var path = BlobPath(digest);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);

        using var cluster = hyperion.CreateHttpClient("orchestrator");
        using var response = await cluster.GetAsync(ControlPlaneRoutes.ArtifactFor(digest), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
        await Assert.ThrowsAnyAsync<Exception>(() => response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Killing_the_orchestrator_mid_upload_registers_no_version_and_the_next_upload_gets_the_next_number()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("killed");
        await CreateModelAsync(client, model);
        await UploadOkAsync(client, model, Digits);

        using var stall = new CancellationTokenSource();
        using var slow = new StalledUpload(Digits, stall.Token);
        var upload = client.PostAsync($"/api/v1/models/{model}/versions", slow);
        await slow.HalfSent.WaitAsync(TimeSpan.FromSeconds(30));
        await WaitUntilAsync(() => hyperion.StagingFiles().Any(file => new FileInfo(file).Length > 0), "the half upload to reach the staging area");

        var before = hyperion.Snapshot("orchestrator");
        Process.GetProcessById(hyperion.ProcessId("orchestrator")!.Value).Kill();
        await Assert.ThrowsAnyAsync<Exception>(() => upload.WaitAsync(TimeSpan.FromSeconds(30)));
        await stall.CancelAsync();
        // At least one restart: under load DCP can report the killed process's exit twice (the `dotnet run` wrapper and
        // the service), and the supervisor counts both.
        await hyperion.WaitForAsync("orchestrator", s => s.Restarts > before.Restarts && s.IsHealthy,
            HyperionAppFixture.StartTimeout, "restarted and healthy");

        Assert.Equal(new long[] { 1 }, await VersionNumbersAsync(client, model));
        Assert.Empty(hyperion.StagingFiles());
        Assert.Equal(2, (await UploadOkAsync(client, model, Digits)).GetProperty("version").GetInt64());
        var audit = await RegistryModelTests.AuditAsync(hyperion, model);
        Assert.Equal(["version 1", "version 2"], audit.Where(a => a.Action == "version.registered").Select(a => a.Target));
    }

    [Fact]
    public async Task An_upload_that_finishes_while_PostgreSQL_is_down_is_503_and_registers_nothing()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("nodb");
        await CreateModelAsync(client, model);

        using var stall = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var slow = new StalledUpload(Digits, stall.Token);
        var upload = client.PostAsync($"/api/v1/models/{model}/versions", slow);
        await slow.HalfSent.WaitAsync(TimeSpan.FromSeconds(30));
        // Authenticated and streaming: the database is needed again only to register the version.
        await WaitUntilAsync(() => hyperion.StagingFiles().Any(file => new FileInfo(file).Length > 0), "the half upload to reach the staging area");
        await hyperion.StopAsync("pg");
        try
        {
            slow.Resume();
            using var response = await upload.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Contains("database is unavailable", (await ProblemAsync(response, HttpStatusCode.ServiceUnavailable)).GetProperty("detail").GetString());
            Assert.True(response.Headers.RetryAfter is not null, "a 503 says when to retry");
        }
        finally
        {
            await hyperion.StartAsync("pg");
            await hyperion.WaitForHealthyAsync("pg");
        }

        await WaitUntilAsync(async () => (await client.GetAsync($"/api/v1/models/{model}/versions")).IsSuccessStatusCode, "the registry to answer again");
        Assert.Empty(await VersionNumbersAsync(client, model));
        Assert.Equal(1, (await UploadOkAsync(client, model, Digits)).GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task Blobs_no_version_refers_to_are_removed_after_the_grace_period_and_registered_ones_are_kept()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("sweep");
        await CreateModelAsync(client, model);
        var registered = Model("identity_int8");
        var registeredDigest = (await UploadOkAsync(client, model, registered)).GetProperty("digest").GetString()!;
        var longAgo = DateTime.UtcNow.AddDays(-1);
        File.SetLastWriteTimeUtc(BlobPath(registeredDigest), longAgo);

        // What an upload stopped between storing its blob and registering the version leaves: one long ago, one just now.
        string Orphan(DateTime committedUtc)
        {
            var bytes = new byte[4096];
            Random.Shared.NextBytes(bytes);
            var digest = Sha256(bytes);
            Directory.CreateDirectory(Path.GetDirectoryName(BlobPath(digest))!);
            File.WriteAllBytes(BlobPath(digest), bytes);
            File.SetLastWriteTimeUtc(BlobPath(digest), committedUtc);
            return digest;
        }
        var stale = Orphan(longAgo);
        var recent = Orphan(DateTime.UtcNow);

        await WaitUntilAsync(() => !File.Exists(BlobPath(stale)), "the sweep (every second) to remove the stale orphan");
        Assert.True(File.Exists(BlobPath(recent)), "an orphan younger than the grace period may still be registered: kept");
        Assert.Equal(registered, await client.GetByteArrayAsync($"/api/v1/models/{model}/versions/1/artifact"));
        Assert.Empty(Directory.GetFiles(hyperion.ArtifactsPath, "*.sweep-*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_deleted_versions_artifact_is_swept_once_no_version_refers_to_it()
    {
        using var client = hyperion.CreateApiClient();
        var model = UniqueName("deleted");
        await CreateModelAsync(client, model);
        // A model no other test of this graph uploads, so that this test alone decides whether its blob is referenced.
        var artifact = Model("identity_uint16");
        var digest = (await UploadOkAsync(client, model, artifact)).GetProperty("digest").GetString()!;
        Assert.Equal(digest, (await UploadOkAsync(client, model, artifact)).GetProperty("digest").GetString());
        File.SetLastWriteTimeUtc(BlobPath(digest), DateTime.UtcNow.AddDays(-1));

        using (var deleted = await client.DeleteAsync($"/api/v1/models/{model}/versions/1"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        // Sweeps run every second: a few of them leave the blob version 2 still refers to.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(artifact, await client.GetByteArrayAsync($"/api/v1/models/{model}/versions/2/artifact"));

        using (var deleted = await client.DeleteAsync($"/api/v1/models/{model}/versions/2"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        await WaitUntilAsync(() => !File.Exists(BlobPath(digest)), "the sweep to remove the artifact of the deleted versions");
    }

    private string BlobPath(string digest) => Path.Combine(hyperion.ArtifactsPath, "sha256", digest[7..9], digest[7..]);

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// multipart/form-data that sends half of the artifact, then stalls until <see cref="Resume"/> (which sends the
    /// rest) or until cancelled, as a client cut off mid-upload.
    /// </summary>
    private sealed class StalledUpload : HttpContent
    {
        private const string Boundary = "stalled-upload-boundary";
        private readonly byte[] _artifact;
        private readonly CancellationToken _stall;
        private readonly TaskCompletionSource _halfSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public StalledUpload(byte[] artifact, CancellationToken stall)
        {
            _artifact = artifact;
            _stall = stall;
            Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={Boundary}");
        }

        public Task HalfSent => _halfSent.Task;

        public void Resume() => _resume.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var head = Encoding.ASCII.GetBytes(
                $"--{Boundary}\r\nContent-Disposition: form-data; name=\"artifact\"; filename=\"model.onnx\"\r\nContent-Type: application/octet-stream\r\n\r\n");
            await stream.WriteAsync(head);
            await stream.WriteAsync(_artifact.AsMemory(0, _artifact.Length / 2));
            await stream.FlushAsync();
            _halfSent.TrySetResult();
            await _resume.Task.WaitAsync(_stall);
            await stream.WriteAsync(_artifact.AsMemory(_artifact.Length / 2));
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"\r\n--{Boundary}--\r\n"));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

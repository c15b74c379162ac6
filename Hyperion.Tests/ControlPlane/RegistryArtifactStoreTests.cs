using System.Security.Cryptography;
using Hyperion.Orchestrator.Registry.Artifacts;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.ControlPlane;

/// <summary>The file-system artifact store on a temporary directory.</summary>
public sealed class RegistryArtifactStoreTests : IDisposable
{
    private readonly TemporaryDirectory _root = new("artifact-store");
    private readonly FileSystemArtifactStore _store;

    public RegistryArtifactStoreTests() => _store = new FileSystemArtifactStore(_root.Path);

    public void Dispose()
    {
        _store.Dispose();
        _root.Dispose();
    }

    [Fact]
    public async Task Put_names_the_blob_by_its_sha256_and_stores_identical_content_once()
    {
        var bytes = RandomBytes(300_000);
        var expected = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

        var first = await ((IArtifactStore)_store).PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);
        var second = await ((IArtifactStore)_store).PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);

        Assert.Equal(new StoredArtifact(expected, bytes.Length), first);
        Assert.Equal(first, second);
        var hex = expected["sha256:".Length..];
        Assert.Equal([_store.BlobPath(hex)], Directory.GetFiles(Path.Combine(_root.Path, "sha256"), "*", SearchOption.AllDirectories));
        Assert.Equal(Path.Combine(_root.Path, "sha256", hex[..2], hex), _store.BlobPath(hex));
        Assert.True(await _store.ExistsAsync(expected, CancellationToken.None));
        Assert.Empty(StagingFiles());
    }

    [Fact]
    public async Task A_sweep_removes_only_blobs_committed_before_the_cutoff_and_a_recommit_counts_as_new()
    {
        var bytes = RandomBytes(10_000);
        var stored = await ((IArtifactStore)_store).PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);
        var path = _store.BlobPath(stored.Digest["sha256:".Length..]);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddHours(-2));
        Assert.Equal([(stored.Digest, (long)bytes.Length)], _store.Blobs().Select(blob => (blob.Digest, blob.SizeBytes)));

        // Uploaded again: the commit time is now, so a sweep with a cutoff an hour ago puts it back.
        await ((IArtifactStore)_store).PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);
        Assert.False(_store.RemoveIfCommittedBefore(stored.Digest, DateTime.UtcNow.AddHours(-1)));
        Assert.True(await _store.ExistsAsync(stored.Digest, CancellationToken.None));

        Assert.True(_store.RemoveIfCommittedBefore(stored.Digest, DateTime.UtcNow.AddMinutes(1)));
        Assert.False(await _store.ExistsAsync(stored.Digest, CancellationToken.None));
        Assert.False(_store.RemoveIfCommittedBefore(stored.Digest, DateTime.UtcNow.AddMinutes(1)));
        Assert.Empty(Directory.GetFiles(_root.Path, "*.sweep-*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_blob_an_interrupted_sweep_set_aside_is_put_back()
    {
        var bytes = RandomBytes(10_000);
        var stored = await ((IArtifactStore)_store).PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);
        var path = _store.BlobPath(stored.Digest["sha256:".Length..]);
        File.Move(path, path + ".sweep-0123456789abcdef");

        Assert.Equal(1, _store.RestoreSweptAside());
        await using var read = await _store.OpenReadAsync(stored.Digest, CancellationToken.None);
        var copy = new MemoryStream();
        await read!.CopyToAsync(copy);
        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task A_blob_reads_back_byte_identical()
    {
        var bytes = RandomBytes(1_000_000);
        var stored = await ((IArtifactStore)_store).PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);

        await using var read = await _store.OpenReadAsync(stored.Digest, CancellationToken.None);
        Assert.NotNull(read);
        Assert.Equal(bytes.Length, read.Length);
        var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task Empty_reads_are_not_taken_for_the_end_of_the_blob()
    {
        var bytes = RandomBytes(1000);
        var stored = await ((IArtifactStore)_store).PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);
        await using var read = await _store.OpenReadAsync(stored.Digest, CancellationToken.None);
        Assert.Equal(0, await read!.ReadAsync(Memory<byte>.Empty));
        Assert.Equal(0, read.Read([]));
        var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task An_unknown_digest_opens_as_null()
    {
        var digest = "sha256:" + new string('a', 64);
        Assert.Null(await _store.OpenReadAsync(digest, CancellationToken.None));
        Assert.False(await _store.ExistsAsync(digest, CancellationToken.None));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(200_000)]
    [InlineData(1_000_000)]
    public async Task A_corrupted_blob_never_hands_out_its_last_bytes(int size)
    {
        var bytes = RandomBytes(size);
        var stored = await ((IArtifactStore)_store).PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);
        var path = _store.BlobPath(stored.Digest["sha256:".Length..]);
        var damaged = File.ReadAllBytes(path);
        damaged[size / 2] ^= 0xFF;
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllBytes(path, damaged);

        await using var read = await _store.OpenReadAsync(stored.Digest, CancellationToken.None);
        var copy = new MemoryStream();
        var error = await Assert.ThrowsAsync<ArtifactCorruptedException>(() => read!.CopyToAsync(copy, 64 * 1024));
        Assert.Contains(stored.Digest, error.Message);
        Assert.True(copy.Length < size, $"{copy.Length} of {size} bytes were handed out");
    }

    [Fact]
    public async Task A_truncated_blob_is_reported_as_corrupted()
    {
        var stored = await ((IArtifactStore)_store).PutAsync(new MemoryStream(RandomBytes(5000)), long.MaxValue, CancellationToken.None);
        await using var read = await _store.OpenReadAsync(stored.Digest, CancellationToken.None);
        var path = _store.BlobPath(stored.Digest["sha256:".Length..]);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            file.SetLength(100);
        }
        var error = await Assert.ThrowsAsync<ArtifactCorruptedException>(() => read!.CopyToAsync(Stream.Null));
        Assert.Contains("ended 4900 bytes early", error.Message);
    }

    [Fact]
    public async Task Storing_the_same_bytes_again_repairs_a_corrupted_blob()
    {
        var bytes = RandomBytes(5000);
        var stored = await ((IArtifactStore)_store).PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);
        var path = _store.BlobPath(stored.Digest["sha256:".Length..]);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllBytes(path, RandomBytes(5000));

        await ((IArtifactStore)_store).PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);

        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task Content_over_the_limit_is_refused_and_nothing_is_kept()
    {
        var error = await Assert.ThrowsAsync<ArtifactTooLargeException>(
            () => _store.StageAsync(new MemoryStream(RandomBytes(1001)), 1000, CancellationToken.None));
        Assert.Equal(1000, error.MaxBytes);
        Assert.Empty(StagingFiles());
        Assert.Empty(Directory.GetFiles(Path.Combine(_root.Path, "sha256"), "*", SearchOption.AllDirectories));

        await using var exact = await _store.StageAsync(new MemoryStream(RandomBytes(1000)), 1000, CancellationToken.None);
        Assert.Equal(1000, exact.SizeBytes);
    }

    [Fact]
    public async Task A_staged_artifact_is_invisible_until_committed_and_gone_when_discarded()
    {
        var bytes = RandomBytes(2000);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        await using (var staged = await _store.StageAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None))
        {
            Assert.Equal(digest, staged.Digest);
            Assert.Equal(bytes, File.ReadAllBytes(staged.LocalPath));
            Assert.False(await _store.ExistsAsync(digest, CancellationToken.None));
        }
        Assert.Empty(StagingFiles());
        Assert.False(await _store.ExistsAsync(digest, CancellationToken.None));
    }

    [Fact]
    public async Task Start_up_clean_up_removes_the_uploads_of_stopped_stores_only()
    {
        // A store that crashed: its lock file exists but nobody holds it.
        var staging = Path.Combine(_root.Path, "staging");
        Directory.CreateDirectory(Path.Combine(staging, "crashed"));
        File.WriteAllBytes(Path.Combine(staging, "crashed", "upload.partial"), RandomBytes(100));
        File.WriteAllText(Path.Combine(staging, "crashed.lock"), "");
        // A directory left without its lock by an interrupted clean-up.
        Directory.CreateDirectory(Path.Combine(staging, "orphan"));
        File.WriteAllBytes(Path.Combine(staging, "orphan", "upload.partial"), RandomBytes(100));
        // A store that still runs beside this one, with an upload in progress.
        using var running = new FileSystemArtifactStore(_root.Path);
        await using var inProgress = await running.StageAsync(new MemoryStream(RandomBytes(100)), long.MaxValue, CancellationToken.None);
        await using var mine = await _store.StageAsync(new MemoryStream(RandomBytes(100)), long.MaxValue, CancellationToken.None);

        Assert.Equal(2, _store.RemoveAbandonedStaging());

        Assert.False(Directory.Exists(Path.Combine(staging, "crashed")));
        Assert.False(File.Exists(Path.Combine(staging, "crashed.lock")));
        Assert.False(Directory.Exists(Path.Combine(staging, "orphan")));
        Assert.True(File.Exists(inProgress.LocalPath));
        Assert.True(File.Exists(mine.LocalPath));
    }

    private string[] StagingFiles() =>
        Directory.GetFiles(Path.Combine(_root.Path, "staging"), "*.partial", SearchOption.AllDirectories);

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }
}

using System.Buffers;
using System.Security.Cryptography;

namespace Hyperion.Orchestrator.Registry.Artifacts;

/// <summary>
/// <see cref="IArtifactStore"/> on a directory: blobs at <c>&lt;root&gt;/sha256/&lt;first two hex&gt;/&lt;hex&gt;</c>.
/// Uploads are written to <c>&lt;root&gt;/staging/&lt;instance&gt;/</c> (same file system, so the final rename is
/// atomic), hashed on the way, fsync'd, then renamed into place: a reader sees a whole blob or none.
/// Each store instance holds an exclusive lock on <c>staging/&lt;instance&gt;.lock</c> for its lifetime, so
/// <see cref="RemoveAbandonedStaging"/> can tell the staging files of a crashed orchestrator (lock free) from
/// those of one that is running beside it on the same directory (lock held).
/// </summary>
internal sealed class FileSystemArtifactStore : IArtifactStore, IDisposable
{
    private const int CopyBufferSize = 128 * 1024;
    private const string LockExtension = ".lock";
    private const UnixFileMode BlobMode = UnixFileMode.UserRead | UnixFileMode.GroupRead;

    private readonly string _blobs;
    private readonly string _stagingRoot;
    private readonly string _instance;
    private readonly string _staging;
    private readonly FileStream _instanceLock;

    public FileSystemArtifactStore(string root)
    {
        Root = Path.GetFullPath(root);
        _blobs = Path.Combine(Root, "sha256");
        _stagingRoot = Path.Combine(Root, "staging");
        Directory.CreateDirectory(_blobs);
        Directory.CreateDirectory(_stagingRoot);
        _instance = Guid.CreateVersion7().ToString("N");
        // The lock exists before the directory, so a directory without a lock is never a live instance's.
        _instanceLock = new FileStream(
            Path.Combine(_stagingRoot, _instance + LockExtension), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        _staging = Path.Combine(_stagingRoot, _instance);
        Directory.CreateDirectory(_staging);
    }

    public string Root { get; }

    /// <summary>Where the blob with this hex digest lives (whether or not it exists).</summary>
    public string BlobPath(string hex) => Path.Combine(_blobs, hex[..2], hex);

    public async Task<IStagedArtifact> StageAsync(Stream content, long maxBytes, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_staging, Guid.NewGuid().ToString("N") + ".partial");
        var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0,
            Options = FileOptions.Asynchronous,
        });
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
            {
                size += read;
                if (size > maxBytes)
                {
                    throw new ArtifactTooLargeException(maxBytes);
                }
                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
            // fsync before the rename: after a crash the blob under its name is either whole or absent.
            file.Flush(flushToDisk: true);
            await file.DisposeAsync();
            return new StagedArtifact(this, path, ArtifactDigest.FromHash(hash.GetHashAndReset()), size);
        }
        catch
        {
            await file.DisposeAsync();
            TryDelete(path);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public Task<ArtifactReadStream?> OpenReadAsync(string digest, CancellationToken cancellationToken)
    {
        var hex = HexOf(digest);
        FileStream file;
        try
        {
            file = new FileStream(BlobPath(hex), new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.Read | FileShare.Delete,
                BufferSize = 0,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
            });
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<ArtifactReadStream?>(null);
        }
        return Task.FromResult<ArtifactReadStream?>(new ArtifactReadStream(file, file.Length, hex));
    }

    public Task<bool> ExistsAsync(string digest, CancellationToken cancellationToken) =>
        Task.FromResult(File.Exists(BlobPath(HexOf(digest))));

    /// <summary>
    /// Deletes the staging directories of store instances that no longer run (their lock is free): uploads a
    /// crashed orchestrator never finished. Returns how many files were removed.
    /// </summary>
    public int RemoveAbandonedStaging()
    {
        var removed = 0;
        foreach (var lockPath in Directory.EnumerateFiles(_stagingRoot, "*" + LockExtension))
        {
            var instance = Path.GetFileNameWithoutExtension(lockPath);
            if (instance == _instance)
            {
                continue;
            }
            FileStream probe;
            try
            {
                probe = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                // Held by a running orchestrator, or just removed by another one cleaning up.
                continue;
            }
            using (probe)
            {
                removed += DeleteDirectory(Path.Combine(_stagingRoot, instance));
                File.Delete(lockPath);
            }
        }
        foreach (var directory in Directory.EnumerateDirectories(_stagingRoot))
        {
            // A clean-up interrupted between deleting a directory's files and its lock leaves neither; a directory
            // with no lock at all has no owner.
            if (!File.Exists(directory + LockExtension))
            {
                removed += DeleteDirectory(directory);
            }
        }
        return removed;
    }

    /// <summary>Every blob with the time it was last committed.</summary>
    public IEnumerable<(string Digest, long SizeBytes, DateTime CommittedUtc)> Blobs()
    {
        foreach (var path in Directory.EnumerateFiles(_blobs, "*", SearchOption.AllDirectories))
        {
            var name = Path.GetFileName(path);
            if (ArtifactDigest.TryParse("sha256:" + name, out _))
            {
                var info = new FileInfo(path);
                yield return ("sha256:" + name, info.Length, info.LastWriteTimeUtc);
            }
        }
    }

    /// <summary>
    /// Deletes the blob unless it was committed at or after <paramref name="committedBeforeUtc"/>. The blob is first
    /// renamed aside and its time read there: an upload that commits the same bytes meanwhile either lands after the
    /// rename (a new file, untouched) or before it (a fresh time, so the file is put back).
    /// </summary>
    public bool RemoveIfCommittedBefore(string digest, DateTime committedBeforeUtc)
    {
        var target = BlobPath(HexOf(digest));
        var aside = $"{target}.sweep-{Guid.NewGuid():N}";
        try
        {
            File.Move(target, aside);
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        if (File.GetLastWriteTimeUtc(aside) < committedBeforeUtc)
        {
            File.Delete(aside);
            return true;
        }
        try
        {
            File.Move(aside, target, overwrite: false);
        }
        catch (IOException) when (File.Exists(target))
        {
            File.Delete(aside); // committed again meanwhile: the same bytes are in place
        }
        return false;
    }

    /// <summary>Puts back blobs a sweep renamed aside and did not finish with (the orchestrator stopped in between).</summary>
    public int RestoreSweptAside()
    {
        var restored = 0;
        foreach (var aside in Directory.EnumerateFiles(_blobs, "*.sweep-*", SearchOption.AllDirectories))
        {
            var target = aside[..aside.LastIndexOf(".sweep-", StringComparison.Ordinal)];
            try
            {
                File.Move(aside, target, overwrite: false);
                restored++;
            }
            catch (IOException) when (File.Exists(target))
            {
                File.Delete(aside);
            }
        }
        return restored;
    }

    public void Dispose()
    {
        TryDeleteDirectory(_staging);
        _instanceLock.Dispose();
        TryDelete(Path.Combine(_stagingRoot, _instance + LockExtension));
    }

    private void Commit(string stagedPath, string digest)
    {
        var target = BlobPath(HexOf(digest));
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(stagedPath, BlobMode);
        }
        // The commit time is what the orphan sweep's grace period counts from, not when the bytes finished arriving.
        File.SetLastWriteTimeUtc(stagedPath, DateTime.UtcNow);
        // Replacing an existing blob is harmless (same bytes, and open readers keep the old file) and repairs one
        // that was damaged on disk.
        File.Move(stagedPath, target, overwrite: true);
    }

    private static string HexOf(string digest) =>
        ArtifactDigest.TryParse(digest, out var hex) ? hex : throw new ArgumentException($"'{digest}' is not a digest; expected {ArtifactDigest.Expected}", nameof(digest));

    private static int DeleteDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return 0;
        }
        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Count();
        Directory.Delete(directory, recursive: true);
        return files;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: start-up clean-up removes what is left.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void TryDeleteDirectory(string directory)
    {
        try
        {
            DeleteDirectory(directory);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed class StagedArtifact(FileSystemArtifactStore store, string path, string digest, long sizeBytes) : IStagedArtifact
    {
        private bool _committed;

        public string Digest { get; } = digest;

        public long SizeBytes { get; } = sizeBytes;

        public string LocalPath { get; } = path;

        public Task CommitAsync(CancellationToken cancellationToken)
        {
            if (!_committed)
            {
                store.Commit(LocalPath, Digest);
                _committed = true;
            }
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            if (!_committed)
            {
                TryDelete(LocalPath);
            }
            return ValueTask.CompletedTask;
        }
    }
}

using System.Collections.Concurrent;
using System.Security.Cryptography;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Inference.ControlPlane;

/// <summary>
/// Puts a version's model file into the repository only once its SHA-256 matches the digest the control plane
/// named: downloads stream into a temporary file beside the repository (hashed on the way), and only a file whose
/// digest matches is moved into place. A file already in place (a restarted replica) is hashed once and reused
/// when it matches.
/// </summary>
internal sealed class ArtifactFetcher(OrchestratorClient orchestrator)
{
    public const string DigestPrefix = "sha256:";

    private const int CopyBufferBytes = 1 << 16;

    // What this process has already hashed: a match is not hashed again while the file is unchanged.
    private readonly ConcurrentDictionary<string, VerifiedFile> _verified = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="path"/> holds exactly the artifact <paramref name="digest"/> names.</summary>
    public async Task<bool> IsInPlaceAsync(string path, string digest, CancellationToken cancellationToken)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            return false;
        }
        if (_verified.TryGetValue(path, out var known) && known.Matches(file, digest))
        {
            return true;
        }
        string actual;
        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferBytes, useAsync: true))
        {
            actual = DigestPrefix + Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
        }
        if (actual != digest)
        {
            return false;
        }
        _verified[path] = new VerifiedFile(digest, file.Length, file.LastWriteTimeUtc);
        return true;
    }

    /// <summary>
    /// Downloads <paramref name="version"/>'s artifact to <paramref name="path"/> through <paramref name="scratchDirectory"/>.
    /// Throws <see cref="ArtifactException"/> (or the transport's exception) when it cannot; nothing is left at
    /// <paramref name="path"/> that was not verified.
    /// </summary>
    public async Task<long> FetchAsync(DesiredModelVersion version, string path, string scratchDirectory, CancellationToken cancellationToken)
    {
        if (!version.Digest.StartsWith(DigestPrefix, StringComparison.Ordinal) || version.Digest.Length != DigestPrefix.Length + 64)
        {
            throw new ArtifactException($"digest '{version.Digest}' is not sha256:<64 hex digits>");
        }
        Directory.CreateDirectory(scratchDirectory);
        var temporary = Path.Combine(scratchDirectory, $"{version.Model}-{version.Version}-{Guid.NewGuid():N}.partial");
        try
        {
            long length;
            string actual;
            using (var response = await orchestrator.GetArtifactAsync(version.Digest, cancellationToken))
            await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, CopyBufferBytes, useAsync: true))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[CopyBufferBytes];
                length = 0;
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    length += read;
                }
                await file.FlushAsync(cancellationToken);
                actual = DigestPrefix + Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            if (actual != version.Digest)
            {
                throw new ArtifactException(
                    $"artifact digest mismatch: expected {version.Digest}, received {length} bytes with {actual}; the file was discarded");
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.Move(temporary, path, overwrite: true);
            var placed = new FileInfo(path);
            _verified[path] = new VerifiedFile(version.Digest, placed.Length, placed.LastWriteTimeUtc);
            return length;
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    public void Forget(string path) => _verified.TryRemove(path, out _);

    private sealed record VerifiedFile(string Digest, long Length, DateTime LastWriteTimeUtc)
    {
        public bool Matches(FileInfo file, string digest) =>
            Digest == digest && Length == file.Length && LastWriteTimeUtc == file.LastWriteTimeUtc;
    }
}

/// <summary>An artifact that cannot be used (bad digest, mismatch); the message says why.</summary>
internal sealed class ArtifactException(string message) : Exception(message);

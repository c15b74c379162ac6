namespace Hyperion.Orchestrator.Registry.Artifacts;

/// <summary>
/// Content-addressed storage of model artifacts: a blob is named by the SHA-256 of its bytes, so identical
/// uploads are stored once and a reader can tell whether what it got is what was written. The file-system
/// implementation is <see cref="FileSystemArtifactStore"/>; object storage can implement the same contract.
/// </summary>
internal interface IArtifactStore
{
    /// <summary>
    /// Copies <paramref name="content"/> into a staging area while hashing it; nothing is visible under its digest
    /// until <see cref="IStagedArtifact.CommitAsync"/>. Disposing an uncommitted artifact discards it.
    /// </summary>
    /// <exception cref="ArtifactTooLargeException">More than <paramref name="maxBytes"/> bytes arrived; nothing is kept.</exception>
    Task<IStagedArtifact> StageAsync(Stream content, long maxBytes, CancellationToken cancellationToken);

    /// <summary>Stages and commits in one step.</summary>
    async Task<StoredArtifact> PutAsync(Stream content, long maxBytes, CancellationToken cancellationToken)
    {
        await using var staged = await StageAsync(content, maxBytes, cancellationToken);
        await staged.CommitAsync(cancellationToken);
        return new StoredArtifact(staged.Digest, staged.SizeBytes);
    }

    /// <summary>
    /// The blob's bytes, or null when no blob has this digest. The stream checks the digest as it is read and
    /// throws <see cref="ArtifactCorruptedException"/> instead of handing out its last bytes when they do not match.
    /// </summary>
    /// <param name="digest">A well-formed digest (<see cref="ArtifactDigest.TryParse"/>).</param>
    Task<ArtifactReadStream?> OpenReadAsync(string digest, CancellationToken cancellationToken);

    Task<bool> ExistsAsync(string digest, CancellationToken cancellationToken);
}

/// <summary>A blob: <c>sha256:&lt;hex&gt;</c> and its length.</summary>
internal sealed record StoredArtifact(string Digest, long SizeBytes);

/// <summary>An upload written and hashed but not yet stored under its digest.</summary>
internal interface IStagedArtifact : IAsyncDisposable
{
    string Digest { get; }

    long SizeBytes { get; }

    /// <summary>A local file holding the bytes, for validators that need a path (ONNX Runtime loads from one).</summary>
    string LocalPath { get; }

    /// <summary>Makes the blob readable under <see cref="Digest"/>; a blob already there (same bytes) is kept.</summary>
    Task CommitAsync(CancellationToken cancellationToken);
}

internal sealed class ArtifactTooLargeException(long maxBytes)
    : Exception($"the artifact is larger than the limit of {maxBytes} bytes")
{
    public long MaxBytes { get; } = maxBytes;
}

/// <summary>The stored bytes no longer hash to their digest (damaged on disk): they must not be served.</summary>
internal sealed class ArtifactCorruptedException(string digest, string reason)
    : IOException($"artifact {digest} is corrupted in the store: {reason}")
{
    public string Digest { get; } = digest;
}

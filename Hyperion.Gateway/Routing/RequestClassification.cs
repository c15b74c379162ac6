namespace Hyperion.Gateway.Routing;

/// <summary>
/// What a request asks for, read once by <see cref="ClassificationStage"/> from its path (and for gRPC its message)
/// and handed to every later stage. Immutable: what later stages decide (the caller, the arm, a cache hit) is their
/// own result, and a classification that names no model can be shared by every request that makes it.
/// </summary>
internal sealed record RequestClassification
{
    public required RequestKind Kind { get; init; }

    public required ErrorStyle ErrorStyle { get; init; }

    public PathShape Shape { get; init; }

    /// <summary>The model named by the request, when it names one.</summary>
    public string? Model { get; init; }

    /// <summary>The pipeline named by a <see cref="RequestKind.PipelineInfer"/> request.</summary>
    public string? Pipeline { get; init; }

    /// <summary>The version the client asked for explicitly (path or gRPC <c>model_version</c>), as sent.</summary>
    public string? RequestedVersion { get; init; }

    /// <summary>What follows the model (and version) in the path: <c>/infer</c>, <c>/ready</c>, <c>""</c>, <c>:predict</c>.</summary>
    public string PathRest { get; init; } = "";

    /// <summary>A gRPC request's whole message (5-byte frame header included), read to learn the model.</summary>
    public ReadOnlyMemory<byte> GrpcMessage { get; init; }
}

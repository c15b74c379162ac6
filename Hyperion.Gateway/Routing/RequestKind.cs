namespace Hyperion.Gateway.Routing;

/// <summary>What a request asks for, which decides who may make it and how it is routed.</summary>
internal enum RequestKind : byte
{
    /// <summary>An inference path the gateway does not know; forwarded for an authenticated caller, the replica answers.</summary>
    Other,

    /// <summary><c>/v2/health/live</c>, <c>/v2/health/ready</c>, gRPC ServerLive/ServerReady.</summary>
    Health,

    /// <summary><c>GET /v2</c>, gRPC ServerMetadata.</summary>
    ServerMetadata,

    /// <summary><c>GET /v2/models/{m}[/versions/{v}][/ready|/config]</c>, <c>GET /v1/models/{m}</c>, gRPC ModelMetadata/ModelReady.</summary>
    ModelMetadata,

    /// <summary><c>POST /v2/models/{m}[/versions/{v}]/infer</c>, <c>POST /v1/models/{m}:predict</c>, gRPC ModelInfer.</summary>
    Infer,

    /// <summary>Triton's repository extension: needs <c>admin</c>.</summary>
    Repository,

    /// <summary><c>/api/v1/*</c>: the orchestrator authenticates it itself.</summary>
    ControlPlane,

    /// <summary><c>POST /v2/pipelines/{p}/infer</c>, gRPC ModelInfer of <c>pipelines/{p}</c>: the gateway runs the pipeline's steps itself.</summary>
    PipelineInfer,
}

/// <summary>How an error is written: OIP's <c>{"error": ...}</c>, problem+json, or a gRPC status.</summary>
internal enum ErrorStyle : byte
{
    Oip,
    Problem,
    Grpc,
}

/// <summary>The protocol shape of the path, for rewriting it to a version.</summary>
internal enum PathShape : byte
{
    None,

    /// <summary><c>/v2/models/{m}[/versions/{v}]{rest}</c>.</summary>
    V2Model,

    /// <summary><c>/v1/models/{m}:predict</c>.</summary>
    V1Predict,

    /// <summary><c>/v1/models/{m}</c> (status): routed to a replica holding the version, not rewritten.</summary>
    V1Status,

    /// <summary>gRPC with <c>model_name</c> (1) and <c>model_version</c> (2) in the message.</summary>
    Grpc,
}

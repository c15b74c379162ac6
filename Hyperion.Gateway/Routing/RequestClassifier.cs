namespace Hyperion.Gateway.Routing;

/// <summary>
/// Reads what a request asks for from its path alone: the OIP REST routes, KServe V1, Triton's repository extension,
/// gRPC methods and the control plane. A request that names a model costs its classification and the model name; the
/// others get a shared one. gRPC names its model in the message, which <see cref="ClassificationStage"/> reads.
/// </summary>
internal static class RequestClassifier
{
    public const string GrpcServicePrefix = "/inference.GRPCInferenceService/";

    /// <summary>A gRPC ModelInfer whose <c>model_name</c> is <c>pipelines/&lt;p&gt;</c> calls pipeline p.</summary>
    public const string GrpcPipelinePrefix = "pipelines/";

    private static readonly RequestClassification s_controlPlane = new() { Kind = RequestKind.ControlPlane, ErrorStyle = ErrorStyle.Problem };
    private static readonly RequestClassification[] s_simple = ByKind(kind => new() { Kind = kind, ErrorStyle = ErrorStyle.Oip });
    private static readonly RequestClassification[] s_grpc = ByKind(kind => new()
    {
        Kind = kind,
        ErrorStyle = ErrorStyle.Grpc,
        Shape = kind is RequestKind.ModelMetadata or RequestKind.Infer ? PathShape.Grpc : PathShape.None,
    });

    public static RequestClassification Classify(HttpRequest request)
    {
        var path = request.Path.Value.AsSpan();
        var get = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method);
        if (path.StartsWith("/api/", StringComparison.Ordinal))
        {
            return s_controlPlane;
        }
        if (path.StartsWith(GrpcServicePrefix, StringComparison.Ordinal))
        {
            return ClassifyGrpc(path[GrpcServicePrefix.Length..]);
        }
        if (path.StartsWith("/v1/models/", StringComparison.Ordinal))
        {
            return ClassifyV1(path["/v1/models/".Length..], get);
        }
        if (path.SequenceEqual("/v2") || path.SequenceEqual("/v2/"))
        {
            return Simple(get ? RequestKind.ServerMetadata : RequestKind.Other);
        }
        if (path.StartsWith("/v2/health/", StringComparison.Ordinal))
        {
            return Simple(get ? RequestKind.Health : RequestKind.Other);
        }
        if (path.StartsWith("/v2/repository/", StringComparison.Ordinal))
        {
            return Simple(RequestKind.Repository);
        }
        if (path.StartsWith("/v2/models/", StringComparison.Ordinal))
        {
            return ClassifyV2Model(path["/v2/models/".Length..], get);
        }
        if (path.StartsWith(PipelinePrefix, StringComparison.Ordinal))
        {
            return ClassifyPipeline(path[PipelinePrefix.Length..], get);
        }
        return Simple(RequestKind.Other);
    }

    private const string PipelinePrefix = "/v2/pipelines/";

    /// <summary><c>POST /v2/pipelines/{p}/infer</c>; any other pipeline path is forwarded, and the replica answers 404.</summary>
    private static RequestClassification ClassifyPipeline(ReadOnlySpan<char> afterPipelines, bool get)
    {
        var end = afterPipelines.IndexOf('/');
        if (get || end <= 0 || !afterPipelines[end..].SequenceEqual("/infer"))
        {
            return Simple(RequestKind.Other);
        }
        return new RequestClassification { Kind = RequestKind.PipelineInfer, ErrorStyle = ErrorStyle.Oip, Pipeline = afterPipelines[..end].ToString() };
    }

    private static RequestClassification Simple(RequestKind kind) => s_simple[(int)kind];

    private static RequestClassification ClassifyV2Model(ReadOnlySpan<char> afterModels, bool get)
    {
        var end = afterModels.IndexOf('/');
        var model = end < 0 ? afterModels : afterModels[..end];
        var rest = end < 0 ? [] : afterModels[end..];
        if (model.IsEmpty)
        {
            return Simple(RequestKind.Other);
        }
        string? version = null;
        if (rest.StartsWith("/versions/", StringComparison.Ordinal))
        {
            var afterVersions = rest["/versions/".Length..];
            var versionEnd = afterVersions.IndexOf('/');
            var versionText = versionEnd < 0 ? afterVersions : afterVersions[..versionEnd];
            if (versionText.IsEmpty)
            {
                return Simple(RequestKind.Other);
            }
            version = versionText.ToString();
            rest = versionEnd < 0 ? [] : afterVersions[versionEnd..];
        }
        RequestKind kind;
        if (rest.SequenceEqual("/infer"))
        {
            kind = get ? RequestKind.Other : RequestKind.Infer;
        }
        else if (get && (rest.IsEmpty || rest.SequenceEqual("/ready") || rest.SequenceEqual("/config")))
        {
            kind = RequestKind.ModelMetadata;
        }
        else
        {
            kind = RequestKind.Other;
        }
        return new RequestClassification
        {
            Kind = kind,
            ErrorStyle = ErrorStyle.Oip,
            Shape = PathShape.V2Model,
            Model = model.ToString(),
            RequestedVersion = version,
            PathRest = RestString(rest),
        };
    }

    private static RequestClassification ClassifyV1(ReadOnlySpan<char> afterModels, bool get)
    {
        const string Predict = ":predict";
        if (!get && afterModels.EndsWith(Predict, StringComparison.Ordinal) && afterModels.IndexOf('/') < 0 && afterModels.Length > Predict.Length)
        {
            return new RequestClassification
            {
                Kind = RequestKind.Infer,
                ErrorStyle = ErrorStyle.Oip,
                Shape = PathShape.V1Predict,
                Model = afterModels[..^Predict.Length].ToString(),
                PathRest = Predict,
            };
        }
        if (get && !afterModels.IsEmpty && afterModels.IndexOf('/') < 0 && afterModels.IndexOf(':') < 0)
        {
            return new RequestClassification { Kind = RequestKind.ModelMetadata, ErrorStyle = ErrorStyle.Oip, Shape = PathShape.V1Status, Model = afterModels.ToString() };
        }
        return Simple(RequestKind.Other);
    }

    private static RequestClassification ClassifyGrpc(ReadOnlySpan<char> method)
    {
        var kind = method switch
        {
            "ServerLive" or "ServerReady" => RequestKind.Health,
            "ServerMetadata" => RequestKind.ServerMetadata,
            "ModelMetadata" or "ModelReady" => RequestKind.ModelMetadata,
            "ModelInfer" => RequestKind.Infer,
            _ => RequestKind.Other,
        };
        return s_grpc[(int)kind];
    }

    private static RequestClassification[] ByKind(Func<RequestKind, RequestClassification> classification)
    {
        var kinds = Enum.GetValues<RequestKind>();
        var all = new RequestClassification[kinds.Length];
        foreach (var kind in kinds)
        {
            all[(int)kind] = classification(kind);
        }
        return all;
    }

    // The usual suffixes as constants: no allocation for them.
    private static string RestString(ReadOnlySpan<char> rest) => rest switch
    {
        [] => "",
        "/infer" => "/infer",
        "/ready" => "/ready",
        "/config" => "/config",
        _ => rest.ToString(),
    };
}

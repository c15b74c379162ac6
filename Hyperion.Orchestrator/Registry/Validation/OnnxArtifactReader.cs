using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Hyperion.Orchestrator.Registry.Validation;

/// <summary>
/// Opens an uploaded file with ONNX Runtime, as the inference replicas will, and reads its signature. Opening
/// parses and checks the whole graph, so a file that passes here loads there (barring execution providers).
/// </summary>
internal static class OnnxArtifactReader
{
    public static ArtifactSignature Read(string path)
    {
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            // Only the metadata is wanted: no graph rewriting, no thread pools worth the name.
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            EnableMemoryPattern = false,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        InferenceSession session;
        try
        {
            session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException ex)
        {
            // ORT names the file it was given: a staging path that means nothing to the caller.
            throw new InvalidArtifactException($"ONNX Runtime cannot load the artifact: {ex.Message.Replace(path, "<artifact>", StringComparison.Ordinal)}");
        }
        using (session)
        {
            var metadata = session.ModelMetadata;
            return new ArtifactSignature(
                Format: "onnx",
                Inputs: ReadTensors(session.InputNames, session.InputMetadata, "input"),
                Outputs: ReadTensors(session.OutputNames, session.OutputMetadata, "output"),
                ProducerName: NullIfEmpty(metadata.ProducerName),
                GraphName: NullIfEmpty(metadata.GraphName),
                Domain: NullIfEmpty(metadata.Domain),
                // ONNX Runtime reports an unset model_version as long.MaxValue.
                ModelVersion: metadata.Version is > 0 and < long.MaxValue ? metadata.Version : null);
        }
    }

    private static TensorSignature[] ReadTensors(IReadOnlyList<string> names, IReadOnlyDictionary<string, NodeMetadata> metadata, string role)
    {
        var tensors = new TensorSignature[names.Count];
        for (var i = 0; i < tensors.Length; i++)
        {
            var node = metadata[names[i]];
            if (!node.IsTensor)
            {
                throw new InvalidArtifactException($"{role} '{names[i]}' is a {node.OnnxValueType}; only tensor inputs and outputs can be served");
            }
            var datatype = OipDatatype(node.ElementDataType) ?? throw new InvalidArtifactException(
                $"{role} '{names[i]}' has ONNX element type {node.ElementDataType}, which has no OIP datatype; supported: {Contracts.Tensors.TensorDataTypes.SupportedNames}");
            var dims = new long[node.Dimensions.Length];
            for (var d = 0; d < dims.Length; d++)
            {
                // Symbolic and unknown dimensions come back as -1 (or 0 from some exporters): both mean variable.
                dims[d] = node.Dimensions[d] <= 0 ? -1 : node.Dimensions[d];
            }
            tensors[i] = new TensorSignature(names[i], datatype, dims);
        }
        return tensors;
    }

    // The same mapping as the inference server's ONNX backend.
    private static string? OipDatatype(TensorElementType type) => type switch
    {
        TensorElementType.Bool => "BOOL",
        TensorElementType.UInt8 => "UINT8",
        TensorElementType.UInt16 => "UINT16",
        TensorElementType.UInt32 => "UINT32",
        TensorElementType.UInt64 => "UINT64",
        TensorElementType.Int8 => "INT8",
        TensorElementType.Int16 => "INT16",
        TensorElementType.Int32 => "INT32",
        TensorElementType.Int64 => "INT64",
        TensorElementType.Float16 => "FP16",
        TensorElementType.Float => "FP32",
        TensorElementType.Double => "FP64",
        TensorElementType.String => "BYTES",
        _ => null,
    };

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

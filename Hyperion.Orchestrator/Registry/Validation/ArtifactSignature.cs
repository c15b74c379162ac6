namespace Hyperion.Orchestrator.Registry.Validation;

/// <summary>
/// What a model file says about itself, kept in <c>model_versions.signature</c>: its inputs and outputs (dims as
/// the file declares them, batch dimension included, -1 where variable) and the producer's metadata.
/// </summary>
internal sealed record ArtifactSignature(
    string Format,
    IReadOnlyList<TensorSignature> Inputs,
    IReadOnlyList<TensorSignature> Outputs,
    string? ProducerName,
    string? GraphName,
    string? Domain,
    long? ModelVersion);

/// <param name="Datatype">OIP datatype name, e.g. "FP32".</param>
internal sealed record TensorSignature(string Name, string Datatype, IReadOnlyList<long> Dims);

/// <summary>The artifact cannot be served: it does not parse, or declares something the servers cannot handle.</summary>
internal sealed class InvalidArtifactException(string reason) : Exception(reason);

/// <summary>The uploaded config contradicts the artifact, or asks for something impossible.</summary>
internal sealed class ConfigMismatchException(string reason) : Exception(reason);

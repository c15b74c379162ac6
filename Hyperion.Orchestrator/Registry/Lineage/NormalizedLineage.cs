using System.Text.Json.Nodes;

namespace Hyperion.Orchestrator.Registry.Lineage;

/// <summary>
/// What <see cref="LineageReader"/> understood of a version's lineage, shown as <c>lineage_normalized</c> beside the
/// lineage as given. Every field is optional; nulls are left out of the JSON.
/// </summary>
/// <param name="GitCommit">The commit the model was trained from.</param>
/// <param name="Datasets">The data it was trained or evaluated on, in the order given (the first is <c>dataset</c>).</param>
/// <param name="Parameters">Training parameters, merged from every field that holds them.</param>
/// <param name="Metrics">Evaluation metrics by name; nested objects are flattened with dots (<c>test.accuracy</c>).</param>
/// <param name="Parent">The model version this one was derived from (fine-tuned, retrained).</param>
/// <param name="SourceRun">The training run (an MLflow run id, a CI job).</param>
/// <param name="Unread">Recognised fields whose value could not be read, each with what was expected; they stay in the lineage as given.</param>
internal sealed record NormalizedLineage(
    string? GitCommit,
    string? Repository,
    string? Branch,
    IReadOnlyList<DatasetReference> Datasets,
    JsonObject? Parameters,
    IReadOnlyDictionary<string, double> Metrics,
    ParentReference? Parent,
    string? SourceRun,
    string? CreatedBy,
    IReadOnlyList<string> Unread);

/// <param name="Name">A name such as <c>sklearn-digits</c>.</param>
/// <param name="Uri">Where it lives: <c>s3://...</c>, a path, <c>sklearn://datasets/load_digits</c>.</param>
/// <param name="Digest">A content hash as given (<c>md5:...</c> for DVC's <c>md5</c>).</param>
internal sealed record DatasetReference(string? Name, string? Uri, string? Version, string? Digest);

/// <param name="Model">The parent's model when named (null: this model, or a name the reader could not split).</param>
internal sealed record ParentReference(string? Model, long? Version);

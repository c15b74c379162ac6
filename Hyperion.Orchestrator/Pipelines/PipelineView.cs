namespace Hyperion.Orchestrator.Pipelines;

/// <summary>A pipeline revision as the API shows it.</summary>
/// <param name="Current">Whether <paramref name="Revision"/> is the one the gateway runs.</param>
/// <param name="RevisionCreatedAt">When this revision was written (by <paramref name="CreatedBy"/>).</param>
/// <param name="CreatedAt">When the pipeline was first created.</param>
/// <param name="Changed">On a PUT: false when the body was the current revision already (nothing was written).</param>
internal sealed record PipelineView(
    string Name,
    long Revision,
    bool Current,
    IReadOnlyList<PipelineStep> Steps,
    IReadOnlyDictionary<string, PipelineOutputSources>? Outputs,
    string CreatedBy,
    DateTimeOffset RevisionCreatedAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    bool? Changed = null)
{
    public static PipelineView From(PipelineRecord record, bool? changed = null) => new(
        record.Name,
        record.Revision,
        record.Current,
        record.Spec.Steps,
        record.Spec.Outputs,
        record.CreatedBy,
        record.RevisionCreatedAt,
        record.CreatedAt,
        record.UpdatedAt,
        changed);
}

internal sealed record PipelineList(IReadOnlyList<PipelineView> Pipelines);

internal sealed record PipelineRevisions(string Name, IReadOnlyList<PipelineView> Revisions);

using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Registry.Lifecycle;

namespace Hyperion.Orchestrator.Pipelines;

/// <summary>
/// Pipelines as users of model versions: a step that pins a version keeps it from being archived or deleted (a step
/// without a version follows the model's deployment, which answers for itself). A pipeline PUT reads every pinned
/// version's row <c>FOR KEY SHARE</c> (<see cref="PipelineStore"/>), so it and an archive or delete take turns.
/// </summary>
internal sealed class PipelineVersionUsers : IVersionUsers
{
    public async Task<IReadOnlyList<VersionUse>> FindAsync(Db db, string model, long version, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT p.name, step ->> 'name'
            FROM pipelines p
            JOIN pipeline_revisions r ON r.pipeline = p.name AND r.revision = p.revision
            CROSS JOIN LATERAL jsonb_array_elements(r.spec -> 'steps') AS step
            WHERE step ->> 'model' = @model AND (step ->> 'version')::bigint = @version
            ORDER BY p.name, step ->> 'name'
            """);
        command.Bind("model", model);
        command.Bind("version", version);
        var steps = await command.ReadAllAsync(reader => (Pipeline: reader.GetString(0), Step: reader.GetString(1)), cancellationToken);
        return [.. steps.Select(use => new VersionUse("pipeline", use.Pipeline, $"step '{use.Step}'", Named: true,
            $"Pin another version in pipeline '{use.Pipeline}', or leave the step's version out to follow the deployment (PUT /api/v1/pipelines/{use.Pipeline}), or delete the pipeline first."))];
    }
}

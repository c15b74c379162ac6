using Hyperion.Orchestrator.Persistence;

namespace Hyperion.Orchestrator.Registry.Lifecycle;

/// <summary>
/// Something that can name a model version and so keeps it from being deleted, or archived: deployments
/// (<see cref="Deployments.DeploymentVersionUsers"/>) today; pipelines that pin a step's version register one more
/// implementation (<c>AddSingleton&lt;IVersionUsers, ...&gt;()</c>) and are then checked with no change here.
/// </summary>
/// <remarks>
/// Called in the transaction that archives or deletes the version, after that version's row is locked
/// <c>FOR UPDATE</c>. An implementation must see every use committed before its answer and keep a new one from
/// committing until that transaction ends: either the writer that starts naming a version reads the version's row
/// <c>FOR KEY SHARE</c> (and checks its stage) in the transaction that writes the name, or the implementation takes
/// a lock here that the writer also takes (deployments: their per-model advisory lock).
/// </remarks>
internal interface IVersionUsers
{
    Task<IReadOnlyList<VersionUse>> FindAsync(Db db, string model, long version, CancellationToken cancellationToken);
}

/// <summary>One use of a version, as a message names it: "deployment 'digits' (stable)".</summary>
/// <param name="Kind">What uses it: <c>deployment</c>, <c>pipeline</c>.</param>
/// <param name="Name">Its name (a deployment is named by its model).</param>
/// <param name="Role">How: <c>stable</c>, <c>canary</c>, <c>shadow</c>, <c>step 'clf'</c>...</param>
/// <param name="Named">The version is named by what the user wrote (so it cannot be archived either); false for a
/// use that only holds it for now, such as the previous stable kept loaded for an instant rollback.</param>
/// <param name="Remedy">What frees the version, as a sentence: "Point deployment 'digits' at another version ...".</param>
internal sealed record VersionUse(string Kind, string Name, string Role, bool Named, string Remedy)
{
    public string Describe() => $"{Kind} '{Name}' ({Role})";
}

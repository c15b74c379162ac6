using System.Globalization;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Registry;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// The version a drift or quality call is about: <c>?version=</c>, or else the stable version of the model's
/// deployment, with the deployment's monitoring settings (null without monitoring). Every way the question is
/// wrong gets its own answer: an unknown model or version 404, a version that is not a number 400.
/// </summary>
internal sealed record QualityTarget(MonitoredVersion Version, MonitoringSpec? Monitoring)
{
    public static async Task<(QualityTarget? Target, ApiProblem? Problem)> ResolveAsync(Db db, string model, string? version, CancellationToken cancellationToken)
    {
        long? number = null;
        if (version is not null)
        {
            if (!long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < 1)
            {
                return (null, ApiProblems.BadRequest($"version '{version}' is not a version number; expected ?version= with a positive integer"));
            }
            number = parsed;
        }
        if (!await MonitoredVersion.ModelExistsAsync(db, model, cancellationToken))
        {
            return (null, ModelEndpoints.ModelNotFound(model));
        }
        var deployment = await DeploymentStore.CurrentAsync(db, model, cancellationToken);
        if (number is null)
        {
            if (deployment is null)
            {
                return (null, ApiProblems.NotFound($"model '{model}' has no deployment to take the stable version of; name the version with ?version="));
            }
            number = deployment.Spec.Stable;
        }
        var found = await MonitoredVersion.ReadAsync(db, model, number.Value, cancellationToken);
        return found is null
            ? (null, ApiProblems.NotFound($"model '{model}' has no version {number}; GET /api/v1/models/{model}/versions lists them"))
            : (new QualityTarget(found, deployment?.Spec.Monitoring), null);
    }
}

using System.Text.Json.Serialization;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// What the quality gates of a canary plan read, over the whole rollout (a version's accuracy does not depend on its
/// share of traffic, and labels come late, so every labelled row since the rollout started counts). A gate that is
/// off has null numbers.
/// </summary>
internal sealed record QualityMeasurement(ArmAccuracy? Stable, ArmAccuracy? Canary, PredictionAgreement? Agreement);

/// <param name="Labelled">Labelled rows of the version's captures since the rollout started.</param>
/// <param name="Accuracy">The share of them predicted right; null without any.</param>
internal sealed record ArmAccuracy(long Version, long Labelled, double? Accuracy);

/// <summary>Rows of requests answered by stable and copied to the canary version as a shadow, compared by predicted class.</summary>
internal sealed record PredictionAgreement(long Compared, long Agreed)
{
    [JsonIgnore]
    public double? Rate => Compared == 0 ? null : (double)Agreed / Compared;
}

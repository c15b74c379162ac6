using System.Diagnostics;
using Hyperion.Contracts.Inference;
using Hyperion.Inference.Metrics;
using Hyperion.Inference.Serving;

namespace Hyperion.Inference.Protocol;

/// <summary>
/// Counts inference requests a front end refuses before they reach the dispatcher (unreadable, malformed or
/// oversize bodies), so <c>hyperion_inference_requests_total</c> counts every request once. A model name the
/// catalog does not know is never used as a label: it comes from the client and would make the label set unbounded.
/// </summary>
internal sealed class RejectedRequests(IModelCatalog catalog, InferenceMetrics metrics)
{
    public void Record(string model, InferenceException error, long startedTimestamp)
    {
        var label = IsKnown(model) ? model : InferenceMetrics.UnknownModel;
        metrics.RecordRequest(label, "", InferenceOutcomes.FromErrorKind(error.Kind), Stopwatch.GetElapsedTime(startedTimestamp));
    }

    private bool IsKnown(string model)
    {
        if (catalog.IsReady(model, null))
        {
            return true;
        }
        try
        {
            catalog.Describe(model, null);
            return true;
        }
        catch (InferenceException ex)
        {
            return ex.Kind != InferenceErrorKind.NotFound;
        }
    }
}

using Hyperion.Contracts.Inference;

namespace Hyperion.Inference.Serving;

/// <summary>
/// Runs a decoded request on the right model version: validates it against the model's configuration,
/// queues it in that version's dynamic batcher (or runs it alone) and returns its outputs.
/// Failures are <see cref="InferenceException"/>s that each protocol maps to its own status codes.
/// The caller owns (and disposes) both the request and the response.
/// </summary>
public interface IInferenceDispatcher
{
    ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken);
}

using System.Diagnostics;
using Hyperion.Contracts.Inference;
using Hyperion.Inference.Batching;
using Hyperion.Inference.Metrics;
using Hyperion.Inference.Repository;

namespace Hyperion.Inference.Serving;

/// <summary>
/// Resolves the model version, validates the request against its config, queues it in the version's batcher
/// and counts the outcome. The version stays leased until the request finishes, so an unload or reload waits
/// for it instead of pulling its session away.
/// </summary>
internal sealed class InferenceDispatcher(ModelRepository repository, InferenceMetrics metrics) : IInferenceDispatcher
{
    public async ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        LoadedModelVersion? version = null;
        try
        {
            version = repository.Acquire(request.ModelName, request.ModelVersion);
            var signature = version.Signature;
            var rows = RequestValidator.ValidateInputs(request, signature, request.ModelName);
            var outputs = RequestValidator.SelectOutputs(request, signature, request.ModelName);
            cancellationToken.ThrowIfCancellationRequested();

            var pending = new PendingRequest(request, rows, outputs, Deadline(request, version.Scheduler.Policy, started));
            version.Scheduler.Submit(pending);
            InferenceResponse response;
            using (cancellationToken.UnsafeRegister(
                static (state, token) => ((PendingRequest)state!).TryAbandon(new OperationCanceledException(token)), pending))
            {
                response = await pending.AsValueTask();
            }
            metrics.RecordRequest(request.ModelName, version.Key.Version, InferenceOutcome.Success, Stopwatch.GetElapsedTime(started));
            return response;
        }
        catch (InferenceException ex)
        {
            metrics.RecordRequest(request.ModelName, version?.Key.Version ?? "", InferenceOutcomes.FromErrorKind(ex.Kind), Stopwatch.GetElapsedTime(started));
            throw;
        }
        catch (OperationCanceledException)
        {
            metrics.RecordRequest(request.ModelName, version?.Key.Version ?? "", InferenceOutcome.Cancelled, Stopwatch.GetElapsedTime(started));
            throw;
        }
        finally
        {
            version?.Release();
        }
    }

    private static long Deadline(InferenceRequest request, BatchingPolicy policy, long now)
    {
        if (request.Timeout is { } timeout && timeout > TimeSpan.Zero)
        {
            return now + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        }
        return policy.DefaultTimeoutTicks > 0 ? now + policy.DefaultTimeoutTicks : 0;
    }
}

using Hyperion.Gateway.Auth;
using Hyperion.Gateway.Pipeline;
using Hyperion.Gateway.Routing;

namespace Hyperion.Gateway.Pipelines;

/// <summary>
/// Proxy stage: a pipeline call (<see cref="RequestKind.PipelineInfer"/>), admitted and rate limited by the stages
/// before it like any inference call, is run here by <see cref="PipelineRunner"/> and answered; it goes no further
/// down the proxy pipeline (its steps are routed by the runner, each as its model's deployment routes). Every
/// other request passes on.
/// </summary>
internal sealed class PipelineStage(RequestDelegate next, PipelineRunner runner)
{
    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Need<RequestClassification>(nameof(PipelineStage));
        if (request.Kind != RequestKind.PipelineInfer)
        {
            return next(context);
        }
        // Needed here: a pipeline must never run for a caller the authorization stage has not admitted.
        context.Need<Admission>(nameof(PipelineStage));
        return runner.RunAsync(context, request);
    }
}

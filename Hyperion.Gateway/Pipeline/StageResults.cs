using System.Diagnostics.CodeAnalysis;

namespace Hyperion.Gateway.Pipeline;

/// <summary>How a stage reads what an earlier stage handed on (<see cref="GatewayPipeline"/>).</summary>
internal static class StageResults
{
    /// <summary>
    /// The <typeparamref name="T"/> an earlier stage set. Missing means the pipeline is built wrong (a stage moved
    /// or left out), never a bad request: it throws, naming the stage that should have run first, instead of letting
    /// the request through unchecked.
    /// </summary>
    /// <param name="stage">The stage asking, for the message: <c>nameof(RateLimitStage)</c>.</param>
    public static T Need<T>(this HttpContext context, string stage) where T : class =>
        context.Features.Get<T>() ?? ThrowMissing<T>(stage);

    [DoesNotReturn]
    private static T ThrowMissing<T>(string stage)
    {
        var setter = GatewayPipeline.SetterOf(typeof(T))?.Middleware.Name;
        throw new InvalidOperationException(setter is null
            ? $"{stage} needs the request's {typeof(T).Name}, which no stage in GatewayPipeline.Stages sets"
            : $"{stage} needs the request's {typeof(T).Name}, which {setter} sets; {setter} must run before it (GatewayPipeline.Stages)");
    }
}

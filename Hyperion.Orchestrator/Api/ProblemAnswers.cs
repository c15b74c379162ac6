namespace Hyperion.Orchestrator.Api;

/// <summary>
/// Every error the control plane answers is problem+json: handlers' through <see cref="ApiProblems"/>, bare status
/// codes (a 404 for an unknown route, 405) through the status-code pages, and an exception no handler expected through
/// ASP.NET Core's exception handler, which logs it with the exception and answers a 500 problem carrying the
/// <c>trace_id</c> to find that log line by, never an empty body. ASP.NET Core adds that id to every problem itself
/// (named by the API's snake_case policy).
/// </summary>
internal static class ProblemAnswers
{
    public const string UnexpectedDetail =
        "the control plane failed unexpectedly; its log has the error under this trace_id.";

    public static IServiceCollection AddProblemAnswers(this IServiceCollection services) =>
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            if (context.Exception is not null)
            {
                context.ProblemDetails.Detail ??= UnexpectedDetail;
            }
        });

    /// <summary>First in the pipeline, so that it catches what every later middleware and endpoint throws.</summary>
    public static IApplicationBuilder UseProblemAnswers(this IApplicationBuilder app) =>
        app.UseExceptionHandler().UseStatusCodePages();
}

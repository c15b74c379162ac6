using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace Hyperion.Orchestrator.Api;

/// <summary>
/// A problem+json answer whose status code is part of its type, so that a handler returning
/// <c>Results&lt;Ok&lt;T&gt;, NotFoundProblem&gt;</c> tells the OpenAPI document every status it answers. Not
/// <c>TypedResults.NotFound(problem)</c>: that writes the problem as <c>application/json</c>. Built by
/// <see cref="ApiProblems"/>, which owns the titles.
/// </summary>
internal abstract class ApiProblem(ProblemDetails details) : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<ProblemDetails>, IContentTypeHttpResult
{
    private const string ContentTypeName = "application/problem+json";

    public ProblemDetails Value { get; } = details;

    object? IValueHttpResult.Value => Value;

    public int? StatusCode => Value.Status;

    public string ContentType => ContentTypeName;

    // Through ASP.NET Core's own problem result, so the body, its defaults (type, trace_id) and IProblemDetailsService
    // apply exactly as they do to every other problem the service writes.
    public Task ExecuteAsync(HttpContext httpContext) => TypedResults.Problem(Value).ExecuteAsync(httpContext);

    protected static void Describe(EndpointBuilder builder, int status, Type? type = null) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(status, type ?? typeof(ProblemDetails), [ContentTypeName]));
}

/// <summary>400: a malformed request, sometimes with <c>errors</c> per field.</summary>
internal sealed class BadRequestProblem(ProblemDetails details) : ApiProblem(details), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        Describe(builder, StatusCodes.Status400BadRequest, typeof(HttpValidationProblemDetails));
}

/// <summary>What <see cref="JsonBody"/> answers for a body it cannot read: 415 when it is not JSON, 400 when it does not fit.</summary>
internal sealed class BodyProblem(ProblemDetails details) : ApiProblem(details), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        Describe(builder, StatusCodes.Status400BadRequest, typeof(HttpValidationProblemDetails));
        Describe(builder, StatusCodes.Status415UnsupportedMediaType);
    }
}

internal sealed class ForbiddenProblem(ProblemDetails details) : ApiProblem(details), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, StatusCodes.Status403Forbidden);
}

internal sealed class NotFoundProblem(ProblemDetails details) : ApiProblem(details), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, StatusCodes.Status404NotFound);
}

internal sealed class ConflictProblem(ProblemDetails details) : ApiProblem(details), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, StatusCodes.Status409Conflict);
}

internal sealed class TooLargeProblem(ProblemDetails details) : ApiProblem(details), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, StatusCodes.Status413PayloadTooLarge);
}

internal sealed class UnsupportedMediaTypeProblem(ProblemDetails details) : ApiProblem(details), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, StatusCodes.Status415UnsupportedMediaType);
}

internal sealed class UnprocessableProblem(ProblemDetails details) : ApiProblem(details), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, StatusCodes.Status422UnprocessableEntity);
}

/// <summary>500 for a failure the handler knows and can name (a missing artifact), unlike the exception handler's.</summary>
internal sealed class ServerErrorProblem(ProblemDetails details) : ApiProblem(details), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, StatusCodes.Status500InternalServerError);
}

internal sealed class UnavailableProblem(ProblemDetails details) : ApiProblem(details), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, StatusCodes.Status503ServiceUnavailable);
}

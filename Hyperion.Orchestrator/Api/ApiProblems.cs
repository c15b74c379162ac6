using Microsoft.AspNetCore.Mvc;

namespace Hyperion.Orchestrator.Api;

/// <summary>
/// RFC 7807 answers for the control-plane API, one place for their shape: a title for the kind of problem and a
/// detail that says what was wrong and what was expected. Each is typed by its status (<see cref="ApiProblem"/>).
/// </summary>
internal static class ApiProblems
{
    public static BadRequestProblem BadRequest(string detail) => new(Problem(StatusCodes.Status400BadRequest, "Invalid request", detail));

    /// <summary>400 with a field → messages map (<c>errors</c>), for bodies with several mistakes.</summary>
    public static BadRequestProblem Invalid(IDictionary<string, string[]> errors, string? detail = null) =>
        new(new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "Invalid request",
            Detail = detail ?? "The request has invalid fields; see errors.",
        });

    /// <summary>403 for a key that is known but lacks what this particular resource needs (a scope on the model it names).</summary>
    public static ForbiddenProblem Forbidden(string detail) => new(Problem(StatusCodes.Status403Forbidden, "Forbidden", detail));

    public static NotFoundProblem NotFound(string detail) => new(Problem(StatusCodes.Status404NotFound, "Not found", detail));

    public static ConflictProblem Conflict(string detail) => new(Problem(StatusCodes.Status409Conflict, "Conflict", detail));

    public static TooLargeProblem TooLarge(string detail) => new(Problem(StatusCodes.Status413PayloadTooLarge, "Payload too large", detail));

    public static UnsupportedMediaTypeProblem UnsupportedMediaType(string detail) => new(UnsupportedMediaTypeDetails(detail));

    public static UnprocessableProblem Unprocessable(string detail) => new(Problem(StatusCodes.Status422UnprocessableEntity, "Unprocessable entity", detail));

    /// <summary>500 for a failure the handler recognises, titled by what failed.</summary>
    public static ServerErrorProblem ServerError(string title, string detail) => new(Problem(StatusCodes.Status500InternalServerError, title, detail));

    public static UnavailableProblem Unavailable(string detail) => new(Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable", detail));

    /// <summary>The body reader's refusals (<see cref="JsonBody"/>): the same shapes as above, under one type.</summary>
    public static BodyProblem UnreadableBody(string detail) => new(Problem(StatusCodes.Status400BadRequest, "Invalid request", detail));

    public static BodyProblem BodyNotJson(string detail) => new(UnsupportedMediaTypeDetails(detail));

    /// <summary>One wording for a request in the wrong media type, whatever the call expects.</summary>
    public static string WrongContentType(HttpRequest request, string expected) =>
        $"{expected}; got Content-Type '{request.ContentType ?? "none"}'.";

    private static ProblemDetails UnsupportedMediaTypeDetails(string detail) =>
        Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", detail);

    private static ProblemDetails Problem(int status, string title, string detail) => new() { Status = status, Title = title, Detail = detail };
}

using Hyperion.Orchestrator.Api;
using Npgsql;

namespace Hyperion.Orchestrator.Registry;

/// <summary>
/// PostgreSQL unreachable (connection refused or cut, shutting down, out of connections, timeouts) answers 503
/// with a Retry-After instead of a bare 500: the request was fine and may be sent again. Other errors PostgreSQL
/// reports (constraint violations, syntax) are bugs and stay 500s.
/// </summary>
internal static partial class RegistryDatabaseFilter
{
    public static async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            var logger = context.HttpContext.RequestServices.GetRequiredService<ILogger<RegistryStore>>();
            LogUnavailable(logger, ex);
            context.HttpContext.Response.Headers.RetryAfter = "5";
            return ApiProblems.Unavailable("the registry database is unavailable; retry in a few seconds");
        }
    }

    private static bool IsUnavailable(Exception exception) => exception switch
    {
        // SQLSTATE classes 08 (connection exception), 53 (insufficient resources), 57 (operator intervention: shutdown).
        PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("53", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("57", StringComparison.Ordinal),
        NpgsqlException or TimeoutException => true,
        _ => false,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registry call failed: PostgreSQL is unavailable")]
    private static partial void LogUnavailable(ILogger logger, Exception exception);
}

using System.Globalization;
using Microsoft.Extensions.Primitives;

namespace Hyperion.Orchestrator.Audit;

/// <summary>
/// The filters of <c>GET /api/v1/audit</c>, parsed from the query string: every parameter is optional; <c>since</c> is
/// inclusive, <c>until</c> exclusive; <c>before</c> is the cursor (an entry id) that a previous page returned as <c>next</c>.
/// </summary>
internal sealed record AuditQuery(
    string? Model,
    string? Action,
    string? Actor,
    DateTimeOffset? Since,
    DateTimeOffset? Until,
    int Limit,
    long? Before)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    private static readonly string[] Known = ["model", "action", "actor", "since", "until", "limit", "before"];

    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd",
        "yyyy-MM-dd'T'HH:mm",
        "yyyy-MM-dd'T'HH:mmzzz",
        "yyyy-MM-dd'T'HH:mm'Z'",
        "yyyy-MM-dd'T'HH:mm:ss",
        "yyyy-MM-dd'T'HH:mm:sszzz",
        "yyyy-MM-dd'T'HH:mm:ss'Z'",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'",
    ];

    /// <summary>The query, or field → what was wrong and what is expected.</summary>
    public static (AuditQuery? Query, Dictionary<string, string[]> Errors) Parse(IQueryCollection query)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var name in query.Keys)
        {
            if (!Known.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                // A misspelt filter silently ignored would answer with the whole log as if it were the filtered one.
                errors[name] = [$"unknown parameter '{name}'; the audit log is filtered by {string.Join(", ", Known)}"];
            }
            else if (query[name].Count > 1)
            {
                errors[name] = [$"'{name}' is given {query[name].Count} times; give it once"];
            }
        }

        var model = Text(query, "model", errors);
        var action = Text(query, "action", errors);
        var actor = Text(query, "actor", errors);
        var since = Time(query, "since", errors);
        var until = Time(query, "until", errors);
        if (since is { } from && until is { } to && from >= to)
        {
            errors["until"] = [$"until ({to:O}) must be later than since ({from:O})"];
        }

        var limit = DefaultLimit;
        if (Single(query, "limit") is { } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
        {
            errors["limit"] = [$"limit must be a whole number from 1 to {MaxLimit} (default {DefaultLimit}), got '{limitText}'"];
        }

        long? before = null;
        if (Single(query, "before") is { } beforeText)
        {
            if (long.TryParse(beforeText, NumberStyles.None, CultureInfo.InvariantCulture, out var cursor) && cursor > 0)
            {
                before = cursor;
            }
            else
            {
                errors["before"] = [$"before must be the 'next' cursor of a previous page (a positive entry id), got '{beforeText}'"];
            }
        }

        return errors.Count > 0 ? (null, errors) : (new AuditQuery(Model: model, Action: action, Actor: actor, Since: since, Until: until, Limit: limit, Before: before), errors);
    }

    private static string? Single(IQueryCollection query, string name) =>
        query.TryGetValue(name, out StringValues values) && values.Count == 1 ? values[0] : null;

    private static string? Text(IQueryCollection query, string name, Dictionary<string, string[]> errors)
    {
        var value = Single(query, name);
        if (value is not null && value.Length == 0)
        {
            errors[name] = [$"'{name}' is empty; leave it out to match every {name}, or give a value"];
        }
        return value;
    }

    private static DateTimeOffset? Time(IQueryCollection query, string name, Dictionary<string, string[]> errors)
    {
        if (Single(query, name) is not { } text)
        {
            return null;
        }
        if (DateTimeOffset.TryParseExact(text, IsoFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            // PostgreSQL's timestamptz takes UTC from Npgsql; the offset only said which instant was meant.
            return time.ToUniversalTime();
        }
        var hint = text.Contains(' ', StringComparison.Ordinal)
            ? " (a '+' in a URL reads as a space: write the offset as %2B01:00, or use Z)"
            : string.Empty;
        errors[name] = [$"{name} must be an ISO 8601 time such as 2030-01-31T12:00:00Z or 2030-01-31, got '{text}'{hint}"];
        return null;
    }
}

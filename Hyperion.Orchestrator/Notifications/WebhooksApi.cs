using System.Globalization;
using System.Security.Claims;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Security;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// <c>/api/v1/webhooks</c> (admin scope): the configured webhooks, a test ping through the outbox, and the deliveries
/// with their state, attempts and last error, failed ones retried on request.
/// </summary>
internal static class WebhooksApi
{
    private const int DefaultLimit = 50;
    private const int MaxLimit = 500;

    public static RouteGroupBuilder MapWebhooksApi(this RouteGroupBuilder api)
    {
        var webhooks = api.MapGroup("/webhooks").RequireAuthorization(ScopePolicies.Admin).WithTags("Webhooks");

        webhooks.MapGet("", Ok<WebhookList> (IOptions<WebhookOptions> options) =>
                TypedResults.Ok(new WebhookList([.. options.Value.Webhooks.Select(webhook => Describe(webhook, options.Value))])))
            .WithName("ListWebhooks")
            .WithSummary("The configured webhooks (never their secrets)");

        webhooks.MapPost("/{name}/test", SendPingAsync)
            .WithName("TestWebhook")
            .WithSummary("Queues a 'ping' event to one webhook through the outbox, as a real event would go");

        webhooks.MapGet("/deliveries", ListDeliveriesAsync)
            .WithName("ListWebhookDeliveries")
            .WithSummary("Deliveries, newest first: ?state=pending|failed|delivered&webhook=&event_id=&model=&limit=&before=");

        webhooks.MapGet("/deliveries/{id}", async Task<Results<Ok<WebhookDeliveryView>, BadRequestProblem, NotFoundProblem>> (
                string id, WebhookDeliveryQueries queries, CancellationToken cancellationToken) =>
            {
                if (!Guid.TryParse(id, out var deliveryId))
                {
                    return NotAnId(id);
                }
                return await queries.FindAsync(deliveryId, cancellationToken) is { } delivery ? TypedResults.Ok(delivery) : NoSuchDelivery(deliveryId);
            })
            .WithName("GetWebhookDelivery")
            .WithSummary("One delivery");

        webhooks.MapPost("/deliveries/{id}/retry", async Task<Results<Ok<WebhookDeliveryView>, BadRequestProblem, NotFoundProblem, ConflictProblem>> (
                string id, ClaimsPrincipal user, WebhookDeliveryQueries queries, CancellationToken cancellationToken) =>
            {
                if (!Guid.TryParse(id, out var deliveryId))
                {
                    return NotAnId(id);
                }
                var (delivery, refusal) = await queries.RetryAsync(deliveryId, ActorClaims.ActorOf(user), cancellationToken);
                return delivery is not null ? TypedResults.Ok(delivery)
                    : refusal is not null ? ApiProblems.Conflict(refusal)
                    : NoSuchDelivery(deliveryId);
            })
            .WithName("RetryWebhookDelivery")
            .WithSummary("Queues a failed (given up) delivery again, with a fresh set of attempts");
        return api;
    }

    private static async Task<Results<Accepted<PingQueued>, NotFoundProblem>> SendPingAsync(
        string name, ClaimsPrincipal user, IOptions<WebhookOptions> options, WebhookOutbox outbox, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var webhook = options.Value.Find(name);
        if (webhook is null)
        {
            var configured = options.Value.Webhooks.Count == 0 ? "none is configured" : "configured: " + string.Join(", ", options.Value.Webhooks.Select(w => w.Name));
            return ApiProblems.NotFound($"no webhook named '{name}' ({configured}; see {WebhookOptions.WebhooksSection}).");
        }
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        var (eventId, deliveryId) = await outbox.EnqueuePingAsync(db, webhook, ActorClaims.ActorOf(user), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return TypedResults.Accepted($"/api/v1/webhooks/deliveries/{deliveryId}", new PingQueued(webhook.Name!, eventId, deliveryId));
    }

    private static async Task<Results<Ok<DeliveryPage>, BadRequestProblem>> ListDeliveriesAsync(
        HttpRequest request, IOptions<WebhookOptions> options, WebhookDeliveryQueries queries, CancellationToken cancellationToken)
    {
        var query = request.Query;
        var errors = new Dictionary<string, string[]>();
        string? state = query["state"];
        if (state is not null && !WebhookDeliveryStates.All.Contains(state))
        {
            errors["state"] = [$"'{state}' is not a delivery state; expected one of {string.Join(", ", WebhookDeliveryStates.All)}."];
        }
        var limit = DefaultLimit;
        if (query["limit"].ToString() is { Length: > 0 } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            errors["limit"] = [$"'{limitText}' is not a limit; expected a whole number from 1 to {MaxLimit}."];
        }
        var eventId = ParseId(query["event_id"], "event_id", errors);
        var before = ParseId(query["before"], "before", errors);
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors);
        }

        var deliveries = await queries.ListAsync(
            new DeliveryFilter(State: state, Webhook: NullIfEmpty(query["webhook"]), EventId: eventId, Model: NullIfEmpty(query["model"]), Before: before, Limit: limit + 1),
            cancellationToken);
        // One row more than asked says whether there is an older page.
        var page = deliveries.Count > limit ? deliveries.Take(limit).ToArray() : [.. deliveries];
        return TypedResults.Ok(new DeliveryPage(page, deliveries.Count > limit ? page[^1].Id : null));
    }

    private static Guid? ParseId(string? text, string parameter, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        if (Guid.TryParse(text, out var id))
        {
            return id;
        }
        errors[parameter] = [$"'{text}' is not a UUID."];
        return null;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static BadRequestProblem NotAnId(string id) =>
        ApiProblems.BadRequest($"'{id}' is not a delivery id; expected a UUID as GET /api/v1/webhooks/deliveries lists them.");

    private static NotFoundProblem NoSuchDelivery(Guid id) =>
        ApiProblems.NotFound($"no webhook delivery {id} (deliveries older than Orchestrator:WebhookDelivery:RetentionDays are deleted).");

    private static WebhookDescription Describe(WebhookEndpointOptions webhook, WebhookOptions options) => new(
        webhook.Name!,
        Redact(webhook.Url!),
        webhook.Events.Count == 0 ? ["*"] : [.. webhook.Events],
        webhook.TimeoutSeconds,
        options.MaxAttemptsOf(webhook));

    /// <summary>The URL without credentials or query, which often carry tokens.</summary>
    private static string Redact(string url)
    {
        var uri = new Uri(url);
        return uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) + (uri.Query.Length > 0 ? "?…" : "");
    }

    private sealed record WebhookList(WebhookDescription[] Webhooks);

    private sealed record WebhookDescription(string Name, string Url, string[] Events, int TimeoutSeconds, int MaxAttempts);

    private sealed record PingQueued(string Webhook, Guid EventId, Guid DeliveryId);

    private sealed record DeliveryPage(WebhookDeliveryView[] Deliveries, Guid? NextBefore);
}

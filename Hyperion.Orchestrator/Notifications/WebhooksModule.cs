using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>Webhook notifications: settings, the outbox callers enqueue into, and the delivery service.</summary>
internal static class WebhooksModule
{
    private static readonly string[] WebhookKeys =
    [
        nameof(WebhookEndpointOptions.Name), nameof(WebhookEndpointOptions.Url), nameof(WebhookEndpointOptions.Secret),
        nameof(WebhookEndpointOptions.Events), nameof(WebhookEndpointOptions.TimeoutSeconds), nameof(WebhookEndpointOptions.MaxAttempts),
    ];

    private static readonly string[] DeliveryKeys =
    [
        nameof(WebhookDeliveryOptions.MaxAttempts), nameof(WebhookDeliveryOptions.BaseDelaySeconds), nameof(WebhookDeliveryOptions.MaxDelaySeconds),
        nameof(WebhookDeliveryOptions.PollIntervalSeconds), nameof(WebhookDeliveryOptions.Concurrency), nameof(WebhookDeliveryOptions.RetentionDays),
    ];

    public static IHostApplicationBuilder AddWebhooks(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<WebhookOptions, WebhookOptionsValidator>()
            .Configure<IConfiguration>((options, configuration) => Bind(options, configuration));

        builder.Services.AddSingleton<WebhookOutbox>();
        builder.Services.AddSingleton<WebhookDeliveryQueries>();
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddSingleton<WebhookMetrics>();
        builder.Services.AddHostedService<WebhookDeliveryService>();
        return builder;
    }

    private static void Bind(WebhookOptions options, IConfiguration configuration)
    {
        var webhooks = configuration.GetSection(WebhookOptions.WebhooksSection);
        var delivery = configuration.GetSection(WebhookOptions.DeliverySection);
        // A misspelt "Secrte" or "Event" would otherwise be ignored without a word.
        var unknown = webhooks.GetChildren().SelectMany(webhook => Unknown(webhook, WebhookKeys)).Concat(Unknown(delivery, DeliveryKeys)).ToList();
        if (unknown.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(WebhookOptions), unknown);
        }
        try
        {
            // One by one: binding the list at once skips an element whose value does not convert, without a word.
            foreach (var child in webhooks.GetChildren())
            {
                var webhook = new WebhookEndpointOptions();
                child.Bind(webhook);
                AddCommaSeparatedEvents(child, webhook);
                options.Webhooks.Add(webhook);
            }
            delivery.Bind(options.Delivery);
        }
        catch (InvalidOperationException ex)
        {
            // "Failed to convert configuration value at 'Orchestrator:Webhooks:0:TimeoutSeconds' to type 'System.Int32'."
            throw new OptionsValidationException(Options.DefaultName, typeof(WebhookOptions), [ex.Message]);
        }
    }

    private static IEnumerable<string> Unknown(IConfigurationSection section, string[] known) =>
        section.GetChildren()
            .Where(child => !known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            .Select(child => $"{child.Path} is not a setting; expected one of {string.Join(", ", known)}.");

    /// <summary>
    /// <c>Events=rollout.*,deployment.updated</c> in one value (handy in an environment variable) as well as a list
    /// (<c>Events:0=...</c>); the binder alone would ignore the single value and subscribe the webhook to everything.
    /// </summary>
    private static void AddCommaSeparatedEvents(IConfigurationSection section, WebhookEndpointOptions webhook)
    {
        if (section.GetSection(nameof(WebhookEndpointOptions.Events)).Value is { Length: > 0 } events)
        {
            webhook.Events.AddRange(events.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
    }
}

using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// Start-up checks of the webhook settings: every message names the setting and what was expected. Secrets and
/// URLs are never repeated (hook URLs often carry a token in their path).
/// </summary>
internal sealed partial class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public const int MinSecretLength = 16;

    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var failures = new OptionsFailures();
        var names = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Webhooks.Count; i++)
        {
            ValidateWebhook(i, options.Webhooks[i], names, failures);
        }
        ValidateDelivery(options.Delivery, failures);
        return failures.Result();
    }

    private static void ValidateWebhook(int index, WebhookEndpointOptions webhook, Dictionary<string, int> names, OptionsFailures failures)
    {
        var key = $"{WebhookOptions.WebhooksSection}:{index}";
        var env = $"{WebhookOptions.WebhooksSection.Replace(":", "__", StringComparison.Ordinal)}__{index}";
        if (string.IsNullOrWhiteSpace(webhook.Name) || !NamePattern().IsMatch(webhook.Name))
        {
            failures.Add($"{key}:Name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (it names the webhook in the API, logs and metrics); got '{webhook.Name}'.");
        }
        else if (names.TryGetValue(webhook.Name, out var first))
        {
            failures.Add($"{key}:Name '{webhook.Name}' is already used by {WebhookOptions.WebhooksSection}:{first}:Name; webhook names must be unique (case-insensitively).");
        }
        else
        {
            names[webhook.Name] = index;
        }

        if (!Uri.TryCreate(webhook.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add(string.IsNullOrWhiteSpace(webhook.Url)
                ? $"{key}:Url is not set; expected an absolute http or https URL such as https://hooks.example.com/hyperion."
                : $"{key}:Url is not an absolute http or https URL (such as https://hooks.example.com/hyperion); the value is not repeated here because hook URLs often carry tokens.");
        }

        if (string.IsNullOrEmpty(webhook.Secret))
        {
            failures.Add($"{key}:Secret is not set: every webhook is signed (X-Hyperion-Signature). Set it through the environment ({env}__Secret, e.g. from a Kubernetes Secret) or a secret store, at least {MinSecretLength} characters.");
        }
        else if (webhook.Secret.Length < MinSecretLength)
        {
            failures.Add($"{key}:Secret is {webhook.Secret.Length} characters long; use at least {MinSecretLength} (e.g. openssl rand -hex 32).");
        }

        for (var j = 0; j < webhook.Events.Count; j++)
        {
            if (!NotificationEventTypes.IsValidSubscription(webhook.Events[j]))
            {
                var known = string.Join(", ", NotificationEventTypes.All.Where(type => type != NotificationEventTypes.Ping));
                failures.Add($"{key}:Events:{j} '{webhook.Events[j]}' is not an event type; expected '*', a family such as 'rollout.*', or one of: {known}.");
            }
        }

        failures.Range(key, webhook.TimeoutSeconds, 1, 300);
        if (webhook.MaxAttempts is < 1 or > 100)
        {
            failures.Add($"{key}:MaxAttempts must be between 1 and 100 (or unset for {WebhookOptions.DeliverySection}:MaxAttempts), got {webhook.MaxAttempts}.");
        }
    }

    private static void ValidateDelivery(WebhookDeliveryOptions delivery, OptionsFailures failures)
    {
        const string key = WebhookOptions.DeliverySection;
        failures.Range(key, delivery.MaxAttempts, 1, 100);
        if (!(delivery.BaseDelaySeconds > 0))
        {
            failures.Add($"{key}:BaseDelaySeconds must be above 0, got {delivery.BaseDelaySeconds}.");
        }
        if (!(delivery.MaxDelaySeconds >= delivery.BaseDelaySeconds) || delivery.MaxDelaySeconds > 86400)
        {
            failures.Add($"{key}:MaxDelaySeconds must be at least BaseDelaySeconds ({delivery.BaseDelaySeconds}) and at most 86400, got {delivery.MaxDelaySeconds}.");
        }
        failures.Range(key, delivery.PollIntervalSeconds, 0.05, 300);
        failures.Range(key, delivery.Concurrency, 1, 64);
        if (delivery.RetentionDays < 0)
        {
            failures.Add($"{key}:RetentionDays must be 0 (keep for ever) or more, got {delivery.RetentionDays}.");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex NamePattern();
}

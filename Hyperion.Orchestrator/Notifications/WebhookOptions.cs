namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// Webhooks (<c>Orchestrator:Webhooks</c>, a list) and how they are delivered (<c>Orchestrator:WebhookDelivery</c>).
/// Read once at start-up and validated there (<see cref="WebhookOptionsValidator"/>).
/// </summary>
internal sealed class WebhookOptions
{
    public const string WebhooksSection = OrchestratorOptions.SectionName + ":Webhooks";
    public const string DeliverySection = OrchestratorOptions.SectionName + ":WebhookDelivery";

    public List<WebhookEndpointOptions> Webhooks { get; } = [];

    public WebhookDeliveryOptions Delivery { get; } = new();

    /// <summary>The webhook named <paramref name="name"/> (names are unique, case-insensitively), or null.</summary>
    public WebhookEndpointOptions? Find(string name) =>
        Webhooks.Find(webhook => string.Equals(webhook.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The attempts a delivery to <paramref name="webhook"/> gets before it is given up.</summary>
    public int MaxAttemptsOf(WebhookEndpointOptions webhook) => webhook.MaxAttempts ?? Delivery.MaxAttempts;
}

/// <summary>One receiver: <c>Orchestrator:Webhooks:N:*</c>. A class, not a record: its ToString must never print the secret.</summary>
internal sealed class WebhookEndpointOptions
{
    /// <summary>Names the webhook in the API, logs and metrics: letters, digits, '.', '_', '-'.</summary>
    public string? Name { get; set; }

    /// <summary>Absolute http or https URL that receives a POST per event.</summary>
    public string? Url { get; set; }

    /// <summary>HMAC-SHA256 key (its UTF-8 bytes) for <c>X-Hyperion-Signature</c>. Set it through the environment or a secret store.</summary>
    public string? Secret { get; set; }

    /// <summary>Event types sent to this webhook: exact types, families such as <c>rollout.*</c>, or <c>*</c>. Empty: all.</summary>
    public List<string> Events { get; } = [];

    /// <summary>How long one attempt may take, connection and answer included.</summary>
    public int TimeoutSeconds { get; set; } = 10;

    /// <summary>Overrides <see cref="WebhookDeliveryOptions.MaxAttempts"/> for this webhook.</summary>
    public int? MaxAttempts { get; set; }

    public bool Subscribes(string eventType) =>
        Events.Count == 0 || Events.Exists(subscription => NotificationEventTypes.Matches(subscription, eventType));
}

/// <summary>Retries and delivery workers: <c>Orchestrator:WebhookDelivery:*</c>.</summary>
internal sealed class WebhookDeliveryOptions
{
    /// <summary>Attempts before a delivery is given up (marked failed, kept for the deliveries API and retry).</summary>
    public int MaxAttempts { get; set; } = 15;

    /// <summary>Back-off before retry n is a random time between 0 and min(MaxDelaySeconds, BaseDelaySeconds × 2^(n-1)).</summary>
    public double BaseDelaySeconds { get; set; } = 5;

    public double MaxDelaySeconds { get; set; } = 3600;

    /// <summary>
    /// How often idle workers look for due deliveries without being woken. New events wake them at once
    /// (PostgreSQL NOTIFY); this bounds the delay when a notice is lost (e.g. a reconnect).
    /// </summary>
    public double PollIntervalSeconds { get; set; } = 5;

    /// <summary>Deliveries in flight at once per orchestrator replica (each holds one database connection).</summary>
    public int Concurrency { get; set; } = 4;

    /// <summary>Delivered and failed deliveries older than this are deleted; 0 keeps them for ever.</summary>
    public int RetentionDays { get; set; } = 30;
}

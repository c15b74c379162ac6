using Hyperion.Orchestrator.Notifications;
using Hyperion.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Webhook settings as the orchestrator registers them (AddWebhooks): bound, and checked when the host starts.</summary>
public sealed class WebhookOptionsTests
{
    private const string Secret = "s3cret-value-that-must-never-be-printed";

    [Fact]
    public void Every_setting_binds_and_events_may_be_a_list_or_comma_separated()
    {
        using var host = Build(new()
        {
            ["Orchestrator:Webhooks:0:Name"] = "ops",
            ["Orchestrator:Webhooks:0:Url"] = "https://hooks.example.com/hyperion",
            ["Orchestrator:Webhooks:0:Secret"] = Secret,
            ["Orchestrator:Webhooks:0:Events:0"] = "rollout.*",
            ["Orchestrator:Webhooks:0:Events:1"] = "deployment.updated",
            ["Orchestrator:Webhooks:0:TimeoutSeconds"] = "3",
            ["Orchestrator:Webhooks:0:MaxAttempts"] = "4",
            ["Orchestrator:Webhooks:1:Name"] = "chat",
            ["Orchestrator:Webhooks:1:Url"] = "http://127.0.0.1:9000/",
            ["Orchestrator:Webhooks:1:Secret"] = Secret,
            ["Orchestrator:Webhooks:1:Events"] = "rollout.promoted, rollout.rolled_back",
            ["Orchestrator:WebhookDelivery:MaxAttempts"] = "7",
            ["Orchestrator:WebhookDelivery:BaseDelaySeconds"] = "0.5",
            ["Orchestrator:WebhookDelivery:MaxDelaySeconds"] = "60",
        });

        var options = host.Services.GetRequiredService<IOptions<WebhookOptions>>().Value;

        Assert.Equal(["ops", "chat"], options.Webhooks.Select(w => w.Name));
        var ops = options.Webhooks[0];
        Assert.Equal(["rollout.*", "deployment.updated"], ops.Events);
        Assert.Equal(3, ops.TimeoutSeconds);
        Assert.Equal(4, options.MaxAttemptsOf(ops));
        Assert.True(ops.Subscribes("rollout.step"));
        Assert.False(ops.Subscribes("deployment.rolled_back"));
        var chat = options.Webhooks[1];
        Assert.Equal(["rollout.promoted", "rollout.rolled_back"], chat.Events);
        Assert.Equal(7, options.MaxAttemptsOf(chat));
        Assert.Equal(0.5, options.Delivery.BaseDelaySeconds);
        Assert.Same(chat, options.Find("CHAT"));
    }

    [Fact]
    public async Task A_bad_url_a_missing_secret_and_a_duplicate_name_stop_the_start_naming_each_setting()
    {
        using var host = Build(new()
        {
            ["Orchestrator:Webhooks:0:Name"] = "ops",
            ["Orchestrator:Webhooks:0:Url"] = "ftp://hooks.example.com/T0KEN-in-the-path",
            ["Orchestrator:Webhooks:0:Secret"] = Secret,
            ["Orchestrator:Webhooks:1:Name"] = "chat",
            ["Orchestrator:Webhooks:1:Url"] = "https://hooks.example.com/chat",
            ["Orchestrator:Webhooks:2:Name"] = "OPS",
            ["Orchestrator:Webhooks:2:Url"] = "/relative",
            ["Orchestrator:Webhooks:2:Secret"] = Secret,
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Orchestrator:Webhooks:0:Url is not an absolute http or https URL", error.Message);
        Assert.Contains("Orchestrator:Webhooks:1:Secret is not set", error.Message);
        Assert.Contains("Orchestrator__Webhooks__1__Secret", error.Message);
        Assert.Contains("Orchestrator:Webhooks:2:Name 'OPS' is already used by Orchestrator:Webhooks:0:Name", error.Message);
        Assert.Contains("Orchestrator:Webhooks:2:Url", error.Message);
        Assert.DoesNotContain(Secret, error.Message);
        Assert.DoesNotContain("T0KEN", error.Message);
    }

    [Theory]
    [InlineData("Orchestrator:Webhooks:0:Events:0", "rollout.promtoed", "Orchestrator:Webhooks:0:Events:0 'rollout.promtoed' is not an event type; expected '*', a family such as 'rollout.*', or one of: rollout.started")]
    [InlineData("Orchestrator:Webhooks:0:Events:0", "ping", "'ping' is not an event type")]
    [InlineData("Orchestrator:Webhooks:0:Secret", "short", "Orchestrator:Webhooks:0:Secret is 5 characters long; use at least 16")]
    [InlineData("Orchestrator:Webhooks:0:Name", "has space", "Orchestrator:Webhooks:0:Name must be 1-64 letters")]
    [InlineData("Orchestrator:Webhooks:0:TimeoutSeconds", "0", "Orchestrator:Webhooks:0:TimeoutSeconds must be between 1 and 300, got 0")]
    [InlineData("Orchestrator:Webhooks:0:MaxAttempts", "0", "Orchestrator:Webhooks:0:MaxAttempts must be between 1 and 100")]
    [InlineData("Orchestrator:WebhookDelivery:MaxAttempts", "0", "Orchestrator:WebhookDelivery:MaxAttempts must be between 1 and 100, got 0")]
    [InlineData("Orchestrator:WebhookDelivery:BaseDelaySeconds", "0", "Orchestrator:WebhookDelivery:BaseDelaySeconds must be above 0")]
    [InlineData("Orchestrator:WebhookDelivery:MaxDelaySeconds", "1", "Orchestrator:WebhookDelivery:MaxDelaySeconds must be at least BaseDelaySeconds (5)")]
    [InlineData("Orchestrator:WebhookDelivery:Concurrency", "0", "Orchestrator:WebhookDelivery:Concurrency must be between 1 and 64")]
    [InlineData("Orchestrator:Webhooks:0:Secrte", "typo", "Orchestrator:Webhooks:0:Secrte is not a setting; expected one of Name, Url, Secret, Events, TimeoutSeconds, MaxAttempts")]
    [InlineData("Orchestrator:WebhookDelivery:MaxAttemps", "3", "Orchestrator:WebhookDelivery:MaxAttemps is not a setting")]
    [InlineData("Orchestrator:Webhooks:0:TimeoutSeconds", "ten", "Orchestrator:Webhooks:0:TimeoutSeconds")]
    public async Task A_bad_setting_stops_the_start_with_a_message_that_names_it(string key, string value, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Orchestrator:Webhooks:0:Name"] = "ops",
            ["Orchestrator:Webhooks:0:Url"] = "https://hooks.example.com/hyperion",
            ["Orchestrator:Webhooks:0:Secret"] = Secret,
            [key] = value,
        };
        using var host = Build(settings);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task No_webhooks_is_a_valid_configuration()
    {
        using var host = Build([]);
        await host.StartAsync();
        Assert.Empty(host.Services.GetRequiredService<IOptions<WebhookOptions>>().Value.Webhooks);
        await host.StopAsync();
    }

    [Fact]
    public void Subscriptions_match_exact_types_families_and_everything_but_never_ping_by_subscription()
    {
        Assert.True(NotificationEventTypes.Matches("*", "rollout.step"));
        Assert.True(NotificationEventTypes.Matches("rollout.*", "rollout.rolled_back"));
        Assert.False(NotificationEventTypes.Matches("rollout.*", "deployment.updated"));
        Assert.True(NotificationEventTypes.Matches("deployment.updated", "deployment.updated"));
        Assert.False(NotificationEventTypes.Matches("deployment.updated", "deployment.rolled_back"));
        Assert.True(NotificationEventTypes.IsValidSubscription("deployment.*"));
        Assert.False(NotificationEventTypes.IsValidSubscription("ping"));
        Assert.False(NotificationEventTypes.IsValidSubscription("rollouts.*"));
        Assert.False(NotificationEventTypes.IsValidSubscription("rollout.st*"));
    }

    /// <summary>The orchestrator's registration with these settings; the database is never reached (port 1) unless the host runs.</summary>
    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = ServiceBuilders.Orchestrator(settings);
        builder.AddWebhooks();
        return builder.Build();
    }
}

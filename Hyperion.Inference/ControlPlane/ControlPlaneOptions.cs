using Microsoft.Extensions.Options;

namespace Hyperion.Inference.ControlPlane;

/// <summary>
/// Settings of the section <c>Inference:ControlPlane</c>: how this replica joins the Orchestrator. The agent runs
/// only when the orchestrator is named (<c>services:orchestrator:http:0</c>, which the AppHost sets, or
/// <see cref="OrchestratorUrl"/>); standalone servers have neither.
/// </summary>
public sealed class ControlPlaneOptions
{
    public const string SectionName = "Inference:ControlPlane";

    /// <summary>Where the Orchestrator is: a service-discovery name (the default) or a plain URL.</summary>
    public string OrchestratorUrl { get; set; } = "http://orchestrator";

    /// <summary>The pool this replica serves; deployments name the pool they run in.</summary>
    public string Pool { get; set; } = "cpu";

    /// <summary>The REST URL the gateway reaches this replica at; empty: the first of ASPNETCORE_URLS / --urls.</summary>
    public string? AdvertisedUrl { get; set; }

    /// <summary>Heartbeat period; empty: the one the Orchestrator answers (<c>Orchestrator:ReplicaHeartbeatIntervalSeconds</c>).</summary>
    public int? HeartbeatIntervalSeconds { get; set; }

    /// <summary>Longest wait between retries (Orchestrator unreachable, a failed download or load); retries back off up to this.</summary>
    public int MaxRetryDelaySeconds { get; set; } = 30;

    /// <summary>Longest a heartbeat or the start of an artifact download may take before it counts as failed.</summary>
    public int RequestTimeoutSeconds { get; set; } = 10;
}

internal sealed class ControlPlaneOptionsValidator : IValidateOptions<ControlPlaneOptions>
{
    public ValidateOptionsResult Validate(string? name, ControlPlaneOptions options)
    {
        const string section = ControlPlaneOptions.SectionName;
        var failures = new OptionsFailures();
        if (!Uri.TryCreate(options.OrchestratorUrl, UriKind.Absolute, out var orchestrator)
            || (orchestrator.Scheme != Uri.UriSchemeHttp && orchestrator.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{section}:OrchestratorUrl '{options.OrchestratorUrl}' must be an http(s) URL such as http://orchestrator.");
        }
        if (string.IsNullOrEmpty(options.Pool) || options.Pool.Length > 63
            || !options.Pool.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') || options.Pool[0] == '-')
        {
            failures.Add($"{section}:Pool '{options.Pool}' must be lowercase letters, digits and '-' (e.g. cpu, gpu-a100).");
        }
        if (!string.IsNullOrEmpty(options.AdvertisedUrl)
            && (!Uri.TryCreate(options.AdvertisedUrl, UriKind.Absolute, out var advertised)
                || (advertised.Scheme != Uri.UriSchemeHttp && advertised.Scheme != Uri.UriSchemeHttps)))
        {
            failures.Add($"{section}:AdvertisedUrl '{options.AdvertisedUrl}' must be an http(s) URL such as http://10.0.0.5:8000, or empty.");
        }
        if (options.HeartbeatIntervalSeconds is < 1)
        {
            failures.Add($"{section}:HeartbeatIntervalSeconds must be at least 1 (or empty for the Orchestrator's), got {options.HeartbeatIntervalSeconds}.");
        }
        failures.AtLeast(section, options.MaxRetryDelaySeconds, 1);
        failures.AtLeast(section, options.RequestTimeoutSeconds, 1);
        return failures.Result();
    }
}

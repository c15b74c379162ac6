using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;

namespace Hyperion.AppHost.Publishing;

/// <summary>
/// Settings of <c>publish</c>, bound from the "Publish" section: <c>--output-path</c>, <c>--registry</c>,
/// <c>--tag</c>, <c>--namespace</c> and <c>--gateway-class</c> on the command line, or
/// <c>--Publish:PrometheusUrl=...</c>, <c>Publish__Registry</c> in the environment, appsettings.json.
/// </summary>
public sealed class PublishOptions
{
    public const string SectionName = "Publish";

    /// <summary>Where aspire-manifest.json and k8s/ are written; relative paths are taken from the working directory.</summary>
    [Required(ErrorMessage = "--output-path DIR is required: the folder that receives aspire-manifest.json and k8s/")]
    public string OutputPath { get; set; } = "";

    /// <summary>Images are &lt;Registry&gt;/&lt;resource&gt;:&lt;Tag&gt;, e.g. localhost:5000/hyperion/gateway:latest.</summary>
    [RegularExpression(@"^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$",
        ErrorMessage = "--registry must be a registry host with an optional port and path, such as ghcr.io/acme or localhost:5000/hyperion")]
    public string Registry { get; set; } = "localhost:5000/hyperion";

    /// <summary>Room is left for the GPU images' "-gpu" suffix within Docker's 128 characters.</summary>
    [RegularExpression(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,123}$",
        ErrorMessage = "--tag must be letters, digits, '_', '.' and '-', not starting with '.' or '-', at most 124 characters (e.g. 1.4.0 or the commit hash)")]
    public string Tag { get; set; } = "latest";

    [RegularExpression(@"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
        ErrorMessage = "--namespace must be a DNS label: lower-case letters, digits and '-', at most 63 characters")]
    public string Namespace { get; set; } = "hyperion";

    /// <summary>The cluster's Gateway API implementation that serves the public Gateway (e.g. nginx, eg, istio, cilium).</summary>
    [RegularExpression(@"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$",
        ErrorMessage = "--gateway-class must name a GatewayClass of the cluster (kubectl get gatewayclass), e.g. nginx")]
    public string GatewayClassName { get; set; } = "nginx";

    /// <summary>The Prometheus that KEDA asks for queue depth (kube-prometheus-stack's service by default).</summary>
    [Url(ErrorMessage = "Publish:PrometheusUrl must be an http(s) URL such as http://prometheus-operated.monitoring.svc:9090")]
    public string PrometheusUrl { get; set; } = "http://prometheus-operated.monitoring.svc:9090";

    /// <summary>Where Prometheus runs: the NetworkPolicies let it scrape /metrics.</summary>
    [RegularExpression(@"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
        ErrorMessage = "Publish:MonitoringNamespace must be a namespace name such as monitoring")]
    public string MonitoringNamespace { get; set; } = "monitoring";

    public string ImageOf(string resource, string tagSuffix = "") => $"{Registry}/{resource}:{Tag}{tagSuffix}";

    /// <summary>Bound from the "Publish" section with the pipeline's output path; every invalid value is named at once.</summary>
    public static PublishOptions Bind(IConfiguration configuration, string outputPath)
    {
        var options = new PublishOptions();
        configuration.GetSection(SectionName).Bind(options);
        options.OutputPath = outputPath;
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            throw new InvalidOperationException($"Invalid publish settings: {string.Join("; ", results.Select(r => r.ErrorMessage))}");
        }
        return options;
    }
}

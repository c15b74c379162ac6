using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;

namespace Hyperion.AppHost;

/// <summary>The shape of the graph; bound from the "Hyperion" section (e.g. --Hyperion:InferenceReplicas=3).</summary>
public sealed class HyperionGraphOptions
{
    public const string SectionName = "Hyperion";

    /// <summary>Data, secrets and the admin key of a local run; relative paths are taken from the working directory.</summary>
    [Required]
    public string StateDirectory { get; set; } = ".hyperion";

    [Range(1, 16)]
    public int InferenceReplicas { get; set; } = 2;

    /// <summary>Gateway replicas; they share rate limits, the response cache and statistics through Redis.</summary>
    [Range(1, 16)]
    public int GatewayReplicas { get; set; } = 1;

    /// <summary>The gateway's public port (replica 0's; further replicas get free ports); 0 picks a free one (tests).</summary>
    [Range(0, 65535)]
    public int GatewayPort { get; set; } = 5080;

    /// <summary>Once the graph is healthy, register and deploy the digits sample (idempotent) so there is a model to call.</summary>
    public bool DeploySample { get; set; } = true;

    /// <summary>Bound and checked: a bad value stops the AppHost with every problem named, before anything starts.</summary>
    public static HyperionGraphOptions Bind(IConfiguration configuration)
    {
        var options = new HyperionGraphOptions();
        configuration.GetSection(SectionName).Bind(options);
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            throw new InvalidOperationException(
                $"Invalid settings in section '{SectionName}': {string.Join("; ", results.Select(r => $"{SectionName}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"))}");
        }
        return options;
    }
}

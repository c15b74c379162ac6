using System.Text.Json.Serialization;
using Hyperion.Orchestrator.Api;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// The <c>spec</c> part of <c>POST /api/v1/jobs</c> as sent: every field nullable so that a missing field is told
/// apart from a wrong one. Unknown fields are refused: a misspelt "version" must not score with another version.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record JobSpec(JobTargetSpec? Target, long? Version, string? WebhookUrl)
{
    public const string Example = """{"target": {"model": "digits"}, "version": 1, "webhook_url": "https://example.com/hooks/jobs"}""";

    /// <summary>Every mistake at once, by field; empty when the spec holds together.</summary>
    public Dictionary<string, string[]> Check()
    {
        var errors = new FieldErrors();
        if (Target is null)
        {
            errors.Add("target", """required: {"model": "<name>"} or {"pipeline": "<name>"}""");
        }
        else if ((Target.Model is null) == (Target.Pipeline is null))
        {
            errors.Add("target", """name exactly one of "model" and "pipeline", e.g. {"model": "digits"}""");
        }
        else if ((Target.Model ?? Target.Pipeline) is { Length: 0 })
        {
            errors.Add(Target.Model is null ? "target.pipeline" : "target.model", "must not be empty");
        }
        if (Version is { } version && version < 1)
        {
            errors.Add("version", $"must be a version number (1 or more), got {version}; leave it out to score with the deployment's stable version");
        }
        if (Version is not null && Target?.Pipeline is not null)
        {
            errors.Add("version", "applies to a model target only: a pipeline's steps name their own versions");
        }
        if (WebhookUrl is not null
            && (!Uri.TryCreate(WebhookUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || url.UserInfo.Length > 0))
        {
            errors.Add("webhook_url", $"must be an absolute http or https URL without credentials, got '{WebhookUrl}'");
        }
        return errors.ToDictionary();
    }
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record JobTargetSpec(string? Model, string? Pipeline);

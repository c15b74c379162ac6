using System.Text.Json.Serialization;

namespace Hyperion.Orchestrator.Pipelines;

/// <summary>
/// The body of <c>PUT /api/v1/pipelines/{p}</c> as sent: every field nullable so that a missing field is told apart
/// from a wrong one; <see cref="PipelineValidator"/> checks it against the registry. Unknown fields are refused: a
/// misspelt "inputs" must not make a step that silently takes the request's tensors.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record PipelineRequest(IReadOnlyList<PipelineStepRequest?>? Steps, Dictionary<string, PipelineOutputSources?>? Outputs)
{
    /// <summary>A good body, shown in the answer to a bad one.</summary>
    public const string Example =
        """{"steps": [{"name": "scale", "model": "prep"}, {"name": "clf", "model": "digits", "inputs": {"pixels": "scale.scaled"}}], "outputs": {"label": "clf.label"}}""";
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record PipelineStepRequest(
    string? Name, string? Model, long? Version, Dictionary<string, string?>? Inputs, int? TimeoutMs = null, string? FallbackFor = null, PipelineConditionRequest? When = null);

/// <summary>A step's <c>when</c> as sent: <c>{"output": "small.probabilities", "reduce": "max", "op": "&lt;", "value": 0.9}</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record PipelineConditionRequest(string? Output, string? Reduce, string? Op, double? Value)
{
    public const string Example = """{"output": "small.probabilities", "reduce": "max", "op": "<", "value": 0.9}""";
}

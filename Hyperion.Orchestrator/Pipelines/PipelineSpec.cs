namespace Hyperion.Orchestrator.Pipelines;

/// <summary>
/// A pipeline revision as stored and shown: what was PUT, checked. Steps keep their order; each step's inputs are
/// kept sorted by name, so that a PUT that only lists them in another order is the same revision.
/// </summary>
/// <param name="Outputs">Pipeline output name → <c>"&lt;step&gt;.&lt;output&gt;"</c> (or a list of them); null: the last step's outputs.</param>
internal sealed record PipelineSpec(IReadOnlyList<PipelineStep> Steps, IReadOnlyDictionary<string, PipelineOutputSources>? Outputs);

/// <param name="Version">Null: the model's deployment serves the step.</param>
/// <param name="Inputs">Model input → <c>"$request.&lt;input&gt;"</c> or <c>"&lt;step&gt;.&lt;output&gt;"</c>; null: the request's tensors by name.</param>
/// <param name="TimeoutMs">How long the step may take; null: the gateway's upstream timeout.</param>
/// <param name="FallbackFor">The step this one stands in for when that step fails; null for a step of its own.</param>
/// <param name="When">The condition under which it runs; null: always.</param>
internal sealed record PipelineStep(
    string Name, string Model, long? Version, IReadOnlyDictionary<string, string>? Inputs, int? TimeoutMs = null, string? FallbackFor = null, PipelineStepCondition? When = null);

/// <param name="Output">"&lt;step&gt;.&lt;output&gt;": the tensor judged.</param>
/// <param name="Reduce"><c>max</c> or <c>min</c> of the row's elements.</param>
/// <param name="Op"><c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>, <c>==</c> or <c>!=</c>.</param>
internal sealed record PipelineStepCondition(string Output, string Reduce, string Op, double Value);

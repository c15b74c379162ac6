namespace Hyperion.Contracts.ControlPlane;

/// <summary>
/// A pipeline's current revision as the gateway runs it: its steps in an order where every step comes after the
/// steps it reads from (the orchestrator checked the graph when the revision was written), and its outputs.
/// </summary>
public sealed record PipelineRoute(string Name, long Revision, IReadOnlyList<PipelineStepRoute> Steps, IReadOnlyList<PipelineOutputRoute> Outputs);

/// <param name="Version">The pinned version; null: the model's deployment routes the step as it routes direct traffic.</param>
/// <param name="Inputs">Every input the step sends, with where its tensor comes from.</param>
/// <param name="TimeoutMs">How long the step may take, when shorter than the gateway's upstream timeout.</param>
/// <param name="FallbackFor">The step this one runs for only when that step failed; its outputs then stand in for that step's.</param>
/// <param name="When">The condition on an earlier step's output under which the step runs; null: it always runs.</param>
public sealed record PipelineStepRoute(
    string Name, string Model, long? Version, IReadOnlyList<PipelineTensorSource> Inputs, int? TimeoutMs = null, string? FallbackFor = null, PipelineCondition? When = null);

/// <param name="Input">The model input the tensor is sent as.</param>
/// <param name="Step">The step whose output it is; null for a tensor of the request.</param>
/// <param name="Tensor">The output of <paramref name="Step"/>, or the request's input, by name.</param>
public sealed record PipelineTensorSource(string Input, string? Step, string Tensor);

/// <summary>
/// A step's <c>when</c>: <paramref name="Tensor"/> of <paramref name="Step"/>, reduced by <paramref name="Reduce"/>
/// (<c>max</c> or <c>min</c> of its elements) and compared by <paramref name="Op"/> with <paramref name="Value"/>.
/// </summary>
/// <param name="PerRow">True: judged for each row (the first dimension) and the step runs for the rows where it holds;
/// false (a model without a batch dimension): judged over the whole tensor, and the step runs or not.</param>
public sealed record PipelineCondition(string Step, string Tensor, string Reduce, string Op, double Value, bool PerRow);

/// <param name="Name">The pipeline output's name in the answer.</param>
/// <param name="Otherwise">For rows <paramref name="Step"/> did not run (its <c>when</c>): where they come from, the first that ran each row.</param>
public sealed record PipelineOutputRoute(string Name, string Step, string Tensor, IReadOnlyList<PipelineTensorRef>? Otherwise = null);

public sealed record PipelineTensorRef(string Step, string Tensor);

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
public sealed record PipelineStepRoute(string Name, string Model, long? Version, IReadOnlyList<PipelineTensorSource> Inputs, int? TimeoutMs = null, string? FallbackFor = null);

/// <param name="Input">The model input the tensor is sent as.</param>
/// <param name="Step">The step whose output it is; null for a tensor of the request.</param>
/// <param name="Tensor">The output of <paramref name="Step"/>, or the request's input, by name.</param>
public sealed record PipelineTensorSource(string Input, string? Step, string Tensor);

/// <param name="Name">The pipeline output's name in the answer.</param>
public sealed record PipelineOutputRoute(string Name, string Step, string Tensor);

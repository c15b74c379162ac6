using System.Globalization;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Gateway.Pipelines;

/// <summary>
/// A pipeline's current revision as the gateway runs it, compiled once when the routing table arrives: steps in the
/// orchestrator's order (every step after the steps it reads), each input's source as an index, and the models a
/// caller's scopes must cover.
/// </summary>
internal sealed class PipelinePlan
{
    private PipelinePlan(string name, long revision, PlannedStep[] steps, PlannedOutput[] outputs)
    {
        Name = name;
        Revision = revision;
        RevisionText = revision.ToString(CultureInfo.InvariantCulture);
        Steps = steps;
        Outputs = outputs;
        Models = [.. steps.Select(step => step.Model).Distinct(StringComparer.Ordinal)];
        RequestTensors = [.. steps.SelectMany(step => step.Inputs).Where(input => input.Step < 0).Select(input => input.Tensor).Distinct(StringComparer.Ordinal)];
    }

    public string Name { get; }

    public long Revision { get; }

    public string RevisionText { get; }

    public IReadOnlyList<PlannedStep> Steps { get; }

    public IReadOnlyList<PlannedOutput> Outputs { get; }

    /// <summary>Every model a step calls, once.</summary>
    public IReadOnlyList<string> Models { get; }

    /// <summary>The request tensors some step reads.</summary>
    public IReadOnlyList<string> RequestTensors { get; }

    /// <summary>The compiled plan; null when the route does not hold together (a step read before it runs), which the orchestrator never writes.</summary>
    public static PipelinePlan? From(PipelineRoute route)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var steps = new PlannedStep[route.Steps.Count];
        for (var i = 0; i < steps.Length; i++)
        {
            var step = route.Steps[i];
            var inputs = new PlannedInput[step.Inputs.Count];
            for (var j = 0; j < inputs.Length; j++)
            {
                var source = step.Inputs[j];
                var from = -1;
                if (source.Step is { } name && !index.TryGetValue(name, out from))
                {
                    return null;
                }
                inputs[j] = new PlannedInput(source.Input, from, source.Tensor);
            }
            PlannedCondition? when = null;
            if (step.When is { } condition)
            {
                if (!index.TryGetValue(condition.Step, out var judged) || PlannedCondition.From(condition, judged) is not { } planned)
                {
                    return null;
                }
                when = planned;
            }
            int[] dependsOn = [.. inputs.Where(input => input.Step >= 0).Select(input => input.Step).Append(when?.Step ?? -1).Where(from => from >= 0).Distinct()];
            steps[i] = new PlannedStep(i, step.Name, step.Model, step.Version, inputs, dependsOn)
            {
                Timeout = step.TimeoutMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
                When = when,
            };
            if (step.FallbackFor is { } target)
            {
                if (!index.TryGetValue(target, out var primary))
                {
                    return null;
                }
                steps[i] = steps[i] with { StandsInFor = primary };
                steps[primary].Fallback = i;
            }
            index[step.Name] = i;
        }
        var outputs = new PlannedOutput[route.Outputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            var output = route.Outputs[i];
            var sources = new (int Step, string Tensor)[1 + (output.Otherwise?.Count ?? 0)];
            for (var j = 0; j < sources.Length; j++)
            {
                var (name, tensor) = j == 0 ? (output.Step, output.Tensor) : (output.Otherwise![j - 1].Step, output.Otherwise[j - 1].Tensor);
                if (!index.TryGetValue(name, out var from))
                {
                    return null;
                }
                sources[j] = (from, tensor);
            }
            outputs[i] = new PlannedOutput(output.Name, sources);
        }
        return new PipelinePlan(route.Name, route.Revision, steps, outputs);
    }
}

/// <param name="Version">Pinned; null: the model's deployment routes the step.</param>
/// <param name="DependsOn">Indexes of the steps whose outputs it reads.</param>
internal sealed record PlannedStep(int Index, string Name, string Model, long? Version, PlannedInput[] Inputs, int[] DependsOn)
{
    public string? VersionText { get; } = Version?.ToString(CultureInfo.InvariantCulture);

    /// <summary>The step's own timeout (<c>timeout_ms</c>); null: the gateway's upstream timeout.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>The index of the step this one runs for only when that step failed (<c>fallback_for</c>); -1 for none.</summary>
    public int StandsInFor { get; init; } = -1;

    /// <summary>The index of this step's fallback; -1 for none. Set once, while the plan is compiled.</summary>
    public int Fallback { get; set; } = -1;

    /// <summary>The condition under which it runs (<c>when</c>); null: always.</summary>
    public PlannedCondition? When { get; init; }
}

/// <param name="Step">The index of the step whose output it is; -1 for a request tensor.</param>
internal sealed record PlannedInput(string Input, int Step, string Tensor);

/// <param name="Sources">Where its rows come from: each row from the first source whose step answered it (a step with a
/// <c>when</c> answers some rows); one source for an output of a step that answers every row.</param>
internal sealed record PlannedOutput(string Name, (int Step, string Tensor)[] Sources);

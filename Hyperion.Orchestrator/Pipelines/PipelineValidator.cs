using System.Globalization;
using System.Text.RegularExpressions;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Contracts.Models;
using Hyperion.Orchestrator.Api;

namespace Hyperion.Orchestrator.Pipelines;

/// <summary>A checked pipeline: the spec to store, and the plan the gateway runs (steps in an order that respects every edge).</summary>
internal sealed record ValidatedPipeline(PipelineSpec Spec, IReadOnlyList<PipelineStepRoute> Steps, IReadOnlyList<PipelineOutputRoute> Outputs);

/// <summary>
/// Checks a pipeline against the registry: step names, models and versions, every mapping against the tensors the
/// model version's stored config declares (names, datatypes, shapes), cycles, and outputs. Every mistake is reported
/// at once, under its JSON path, saying what was expected. A step without a version is checked against the version
/// its deployment serves (<see cref="RegisteredModel.CheckedVersion"/>); traffic the deployment later sends to
/// another version is checked by the replica, as direct traffic is.
/// </summary>
internal static partial class PipelineValidator
{
    public const int MaxSteps = 64;
    public const int MaxTimeoutMs = 3_600_000;
    private const string RequestPrefix = "$request.";
    private static readonly string[] Reductions = ["max", "min"];
    private static readonly string[] Operators = ["<", "<=", ">", ">=", "==", "!="];

    public static ValidatedPipeline? Validate(PipelineRequest request, IReadOnlyDictionary<string, RegisteredModel> registry, out Dictionary<string, string[]> errors)
    {
        var found = new FieldErrors();
        if (request.Steps is not { Count: > 0 } requested)
        {
            found.Add("steps", $"is required: a list of at least one step, e.g. {PipelineRequest.Example}");
            errors = found.ToDictionary();
            return null;
        }
        if (requested.Count > MaxSteps)
        {
            found.Add("steps", $"has {requested.Count} steps; a pipeline has at most {MaxSteps}");
        }

        var steps = ReadSteps(requested, registry, found);
        var byName = new Dictionary<string, StepInfo>(StringComparer.Ordinal);
        foreach (var step in steps)
        {
            if (step.Name is { } name && !byName.ContainsKey(name))
            {
                byName[name] = step;
            }
        }
        var requestTensors = new Dictionary<string, (string Datatype, string Where)>(StringComparer.Ordinal);
        foreach (var step in steps)
        {
            ResolveInputs(step, byName, requestTensors, found);
        }
        foreach (var step in steps)
        {
            ResolveCondition(step, byName, found);
        }
        var outputs = ResolveOutputs(request.Outputs, steps, byName, found);
        ResolveFallbacks(steps, byName, outputs, found);
        var order = Order(steps, byName, found);
        if (order.Count == byName.Count)
        {
            CheckConditionalReads(order, byName, outputs, found);
        }

        errors = found.ToDictionary();
        if (errors.Count > 0)
        {
            return null;
        }
        var spec = new PipelineSpec(
            [.. steps.Select(step => new PipelineStep(step.Name!, step.Model!, step.Request.Version, Sorted(step.Request.Inputs), step.Request.TimeoutMs, step.Request.FallbackFor, step.StoredCondition))],
            request.Outputs?.ToDictionary(output => output.Key, output => output.Value!, StringComparer.Ordinal));
        return new ValidatedPipeline(
            spec,
            [.. order.Select(step => new PipelineStepRoute(step.Name!, step.Model!, step.Request.Version, step.Sources, step.Request.TimeoutMs, step.Request.FallbackFor, step.Condition))],
            outputs);
    }

    /// <summary>One wording for the problem's detail: every field's messages.</summary>
    public static string Describe(IReadOnlyDictionary<string, string[]> errors) =>
        "The pipeline is invalid: " + string.Join("; ", errors.SelectMany(field => field.Value.Select(message => $"{field.Key} {message}"))) + ".";

    public static bool IsPipelineName(string name) => PipelineName().IsMatch(name);

    private static List<StepInfo> ReadSteps(IReadOnlyList<PipelineStepRequest?> requested, IReadOnlyDictionary<string, RegisteredModel> registry, FieldErrors found)
    {
        var steps = new List<StepInfo>(requested.Count);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < requested.Count; i++)
        {
            var at = $"steps[{i}]";
            if (requested[i] is not { } step)
            {
                found.Add(at, """must be a step such as {"name": "clf", "model": "digits"}""");
                continue;
            }
            string? name = null;
            if (string.IsNullOrEmpty(step.Name))
            {
                found.Add($"{at}.name", "is required: the step's name, which other steps and outputs refer to as \"<name>.<output>\"");
            }
            else if (!StepName().IsMatch(step.Name))
            {
                found.Add($"{at}.name", $"must be 1 to 64 letters, digits, '_' or '-', starting with a letter or digit (no '.': sources are \"<step>.<output>\"), got \"{step.Name}\"");
            }
            else if (seen.TryGetValue(step.Name, out var first))
            {
                found.Add($"{at}.name", $"'{step.Name}' is also the name of steps[{first}]; step names must be unique");
            }
            else
            {
                seen[step.Name] = i;
                name = step.Name;
            }

            RegisteredModel? model = null;
            if (string.IsNullOrEmpty(step.Model))
            {
                found.Add($"{at}.model", "is required: the name of a registered model");
            }
            else if (!registry.TryGetValue(step.Model, out model))
            {
                found.Add($"{at}.model", $"model '{step.Model}' is not registered; register it with POST /api/v1/models and upload a version");
            }

            if (step.TimeoutMs is < 1 or > MaxTimeoutMs)
            {
                found.Add($"{at}.timeout_ms", $"must be 1 to {MaxTimeoutMs} milliseconds, or left out for the gateway's upstream timeout; got {step.TimeoutMs}");
            }

            long? version = null;
            if (step.Version is < 1)
            {
                found.Add($"{at}.version", $"must be a version number (1 or more), or left out to follow the model's deployment; got {step.Version}");
            }
            else if (model is not null)
            {
                version = model.CheckedVersion(step.Version);
                if (version is null)
                {
                    found.Add(step.Version is null ? $"{at}.model" : $"{at}.version", step.Version is null || model.Versions.Count == 0
                        ? $"model '{model.Name}' has no versions yet; upload one with POST /api/v1/models/{model.Name}/versions"
                        : $"model '{model.Name}' has no version {step.Version}; its versions are {Join(model.Versions.Keys.Order().Select(v => v.ToString(CultureInfo.InvariantCulture)))}");
                }
            }
            steps.Add(new StepInfo(i, step, name, step.Model, version, version is { } v ? model!.Versions[v] : null));
        }
        return steps;
    }

    private static void ResolveInputs(StepInfo step, Dictionary<string, StepInfo> byName, Dictionary<string, (string Datatype, string Where)> requestTensors, FieldErrors found)
    {
        var at = $"steps[{step.Index}]";
        var config = step.Config;
        if (step.Request.Inputs is not { } inputs)
        {
            // No mapping: every model input comes from the request tensor of the same name.
            foreach (var input in config?.Input ?? [])
            {
                CheckRequestTensor(input.Name, input, step, $"{at}.model", requestTensors, found);
                step.Sources.Add(new PipelineTensorSource(input.Name, null, input.Name));
            }
            return;
        }
        foreach (var (input, source) in inputs)
        {
            var field = $"{at}.inputs.{input}";
            var target = config?.Input.FirstOrDefault(tensor => tensor.Name == input);
            if (config is not null && target is null)
            {
                found.Add(field, $"{step.Describe()} has no input '{input}'; its inputs are {Join(config.Input.Select(tensor => tensor.Name))}");
            }
            if (source is not null && source.StartsWith(RequestPrefix, StringComparison.Ordinal) && source.Length > RequestPrefix.Length)
            {
                var tensor = source[RequestPrefix.Length..];
                if (target is not null)
                {
                    CheckRequestTensor(tensor, target, step, field, requestTensors, found);
                }
                step.Sources.Add(new PipelineTensorSource(input, null, tensor));
                continue;
            }
            if (!TrySplit(source, out var fromName, out var output))
            {
                found.Add(field, $"must be \"$request.<input>\" (a tensor of the request) or \"<step>.<output>\" (an output of another step), got {Quote(source)}");
                continue;
            }
            if (!byName.TryGetValue(fromName, out var from))
            {
                found.Add(field, $"reads from step '{fromName}', which is not in the pipeline; {StepList(byName)}");
                continue;
            }
            if (ReferenceEquals(from, step))
            {
                found.Add(field, $"reads step '{fromName}''s own output: a step can only read the outputs of steps that run before it (a cycle)");
                continue;
            }
            step.DependsOn.Add(fromName);
            step.Sources.Add(new PipelineTensorSource(input, fromName, output));
            if (from.Config is not { } fromConfig)
            {
                continue;
            }
            if (fromConfig.Output.FirstOrDefault(tensor => tensor.Name == output) is not { } produced)
            {
                found.Add(field, $"reads output '{output}' of step '{fromName}', but {from.Describe()} has no output '{output}'; its outputs are {Join(fromConfig.Output.Select(tensor => tensor.Name))}");
                continue;
            }
            if (target is null)
            {
                continue;
            }
            if (produced.DataType != target.DataType)
            {
                found.Add(field, $"step '{fromName}' output '{output}' is {produced.DataType}, but {step.Describe()} input '{input}' takes {target.DataType}");
            }
            else if (FullShape(fromConfig, produced) is var producedShape && FullShape(config!, target) is var takenShape && !ShapesMatch(producedShape, takenShape))
            {
                found.Add(field, $"step '{fromName}' output '{output}' has shape {FormatShape(producedShape)}, but {step.Describe()} input '{input}' takes {FormatShape(takenShape)} (-1: any size)");
            }
        }
        if (config is not null)
        {
            foreach (var input in config.Input.Where(tensor => !inputs.ContainsKey(tensor.Name)))
            {
                found.Add($"{at}.inputs", $"gives no source for {step.Describe()} input '{input.Name}'; map every input, e.g. \"{input.Name}\": \"$request.{input.Name}\"");
            }
        }
    }

    /// <summary>One request tensor feeds every input it is mapped to: they must agree on its datatype.</summary>
    private static void CheckRequestTensor(string tensor, ModelTensorConfig target, StepInfo step, string field, Dictionary<string, (string Datatype, string Where)> requestTensors, FieldErrors found)
    {
        var where = $"{step.Describe()} input '{target.Name}'";
        if (!requestTensors.TryGetValue(tensor, out var first))
        {
            requestTensors[tensor] = (target.DataType, where);
        }
        else if (first.Datatype != target.DataType)
        {
            found.Add(field, $"sends request tensor '{tensor}' to {where}, which takes {target.DataType}, but it also goes to {first.Where}, which takes {first.Datatype}: a request tensor has one datatype");
        }
    }

    /// <summary>
    /// A step's <c>when</c> reads an output of another step, which it waits for as for an input: a numeric tensor,
    /// each row reduced by <c>max</c> or <c>min</c> and compared with a number. Judged per row when both models have a
    /// batch dimension (the step then runs for the rows where it holds), else over the whole tensor.
    /// </summary>
    private static void ResolveCondition(StepInfo step, Dictionary<string, StepInfo> byName, FieldErrors found)
    {
        if (step.Request.When is not { } when)
        {
            return;
        }
        var at = $"steps[{step.Index}].when";
        var complete = true;
        if (step.Request.FallbackFor is not null)
        {
            found.Add(at, "cannot be given to a fallback: a fallback runs when the step it stands in for failed, for the rows that step was to answer");
            complete = false;
        }
        var reduce = when.Reduce ?? "max";
        if (!Reductions.Contains(reduce))
        {
            found.Add($"{at}.reduce", $"must be {Join(Reductions)} (of each row's elements; \"max\" when left out), got {Quote(when.Reduce)}");
            complete = false;
        }
        if (when.Op is null || !Operators.Contains(when.Op))
        {
            found.Add($"{at}.op", $"{(when.Op is null ? "is required" : $"cannot be {Quote(when.Op)}")}: one of {Join(Operators)}, comparing the reduced row with 'value'");
            complete = false;
        }
        if (when.Value is not { } value || !double.IsFinite(value))
        {
            found.Add($"{at}.value", $"is required: the number the reduced row is compared with, e.g. {PipelineConditionRequest.Example}");
            complete = false;
            value = 0;
        }
        if (when.Output is { } text && text.StartsWith(RequestPrefix, StringComparison.Ordinal))
        {
            found.Add($"{at}.output", $"must be an output of another step (\"<step>.<output>\"), got {Quote(text)}: a condition is judged on what an earlier step answered");
            return;
        }
        if (!TrySplit(when.Output, out var fromName, out var tensor))
        {
            found.Add($"{at}.output", $"{(when.Output is null ? "is required" : $"must be \"<step>.<output>\", got {Quote(when.Output)}")}: the output of an earlier step the condition judges, e.g. {PipelineConditionRequest.Example}");
            return;
        }
        if (!byName.TryGetValue(fromName, out var from))
        {
            found.Add($"{at}.output", $"reads from step '{fromName}', which is not in the pipeline; {StepList(byName)}");
            return;
        }
        if (ReferenceEquals(from, step))
        {
            found.Add($"{at}.output", $"reads step '{fromName}''s own output: a condition is judged before its step runs, on an earlier step's output");
            return;
        }
        step.DependsOn.Add(fromName);
        if (from.Config is { } fromConfig)
        {
            if (fromConfig.Output.FirstOrDefault(output => output.Name == tensor) is not { } produced)
            {
                found.Add($"{at}.output", $"reads output '{tensor}' of step '{fromName}', but {from.Describe()} has no output '{tensor}'; its outputs are {Join(fromConfig.Output.Select(output => output.Name))}");
                return;
            }
            if (produced.DataType == "BYTES")
            {
                found.Add($"{at}.output", $"reads output '{tensor}' of step '{fromName}', which is BYTES: a condition compares numbers, so name a numeric output");
                return;
            }
        }
        if (complete)
        {
            var perRow = step.Config is not { MaxBatchSize: 0 } && from.Config is not { MaxBatchSize: 0 };
            step.Condition = new PipelineCondition(fromName, tensor, reduce, when.Op!, value, perRow);
            step.StoredCondition = new PipelineStepCondition(when.Output!, reduce, when.Op!, value);
        }
    }

    /// <summary>
    /// A step with a <c>when</c>, and every step that reads one (or stands in for one), answers only some rows, or
    /// none: a model without a batch dimension cannot take such rows, and a pipeline output from such a step needs a
    /// list ending in a step that answers every row. In <paramref name="order"/>, so that what a step reads is known first.
    /// </summary>
    private static void CheckConditionalReads(List<StepInfo> order, Dictionary<string, StepInfo> byName, List<PipelineOutputRoute> outputs, FieldErrors found)
    {
        foreach (var step in order)
        {
            var from = step.Condition is not null
                ? step
                : step.Sources.Select(source => source.Step).OfType<string>().Select(name => byName[name].SelectedBy).FirstOrDefault(selected => selected is not null)
                    ?? (step.Request.FallbackFor is { } primary && byName.TryGetValue(primary, out var standsInFor) ? standsInFor.SelectedBy : null);
            step.SelectedBy = from?.SelectedBy ?? from;
            if (step.SelectedBy is { Condition.PerRow: true } selector && !ReferenceEquals(selector, step) && step.Config is { MaxBatchSize: 0 })
            {
                found.Add($"steps[{step.Index}]", $"reads the rows that step '{selector.Name}' runs for (its when), but {step.Describe()} has no batch dimension (max_batch_size 0), so it cannot take some rows of a request");
            }
        }
        foreach (var output in outputs)
        {
            var sources = (output.Otherwise ?? []).Prepend(new PipelineTensorRef(output.Step, output.Tensor)).ToList();
            for (var i = 0; i < sources.Count; i++)
            {
                var step = byName[sources[i].Step];
                if (step.SelectedBy is not null && i == sources.Count - 1)
                {
                    found.Add($"outputs.{output.Name}", sources.Count == 1
                        ? $"comes from step '{step.Name}', which runs only when its condition holds ({ConditionOf(step)}): name a list that ends in a step that always runs, e.g. [\"{step.Name}.{sources[i].Tensor}\", \"<step>.{sources[i].Tensor}\"]"
                        : $"ends in step '{step.Name}', which runs only when its condition holds ({ConditionOf(step)}): the last entry must be a step that always runs, so that every row has an answer");
                }
                else if (step.SelectedBy is null && i < sources.Count - 1)
                {
                    found.Add($"outputs.{output.Name}", $"lists '{sources[i + 1].Step}.{sources[i + 1].Tensor}' after '{step.Name}.{sources[i].Tensor}', which always runs and answers every row: entries after it are never used");
                    break;
                }
            }
        }
    }

    private static string ConditionOf(StepInfo step) =>
        step.SelectedBy is { Condition: { } condition } selector
            ? ReferenceEquals(selector, step)
                ? $"{condition.Reduce} of {condition.Step}.{condition.Tensor} {condition.Op} {condition.Value.ToString(CultureInfo.InvariantCulture)}"
                : $"it reads step '{selector.Name}', which has a when"
            : "";

    /// <summary>
    /// A fallback (<c>fallback_for</c>) runs only when the step it names failed, and then stands in for it: whoever reads
    /// that step's outputs gets the fallback's. So it must produce every output of that step that is read (same names,
    /// datatypes and shapes), it cannot read that step, nothing reads it directly, and readers of the step run after it.
    /// </summary>
    private static void ResolveFallbacks(List<StepInfo> steps, Dictionary<string, StepInfo> byName, List<PipelineOutputRoute> outputs, FieldErrors found)
    {
        var fallbacks = new Dictionary<string, StepInfo>(StringComparer.Ordinal);
        foreach (var step in steps)
        {
            if (step.Request.FallbackFor is not { } target)
            {
                continue;
            }
            var field = $"steps[{step.Index}].fallback_for";
            if (!byName.TryGetValue(target, out var primary))
            {
                found.Add(field, $"names step '{target}', which is not in the pipeline; {StepList(byName)}");
            }
            else if (ReferenceEquals(primary, step))
            {
                found.Add(field, "names the step itself: a fallback stands in for another step when that one fails");
            }
            else if (fallbacks.TryGetValue(target, out var other))
            {
                found.Add(field, $"names step '{target}', whose fallback is already '{other.Name}': a step has at most one fallback");
            }
            else if (step.DependsOn.Contains(target))
            {
                found.Add(field, $"names step '{target}', whose outputs this step reads: a fallback runs when that step failed, so there is nothing to read");
            }
            else
            {
                fallbacks[target] = step;
                step.DependsOn.Add(target);
            }
        }
        if (fallbacks.Count == 0)
        {
            return;
        }

        var reads = steps.SelectMany(step => step.Sources.Where(source => source.Step is not null).Select(source => (Step: source.Step!, source.Tensor)))
            .Concat(outputs.SelectMany(output => (output.Otherwise ?? []).Select(other => (other.Step, other.Tensor)).Prepend((output.Step, output.Tensor))))
            .Distinct()
            .ToList();
        foreach (var (target, fallback) in fallbacks)
        {
            var field = $"steps[{fallback.Index}].fallback_for";
            if (byName[target].Config is not { } config || fallback.Config is not { } standIn)
            {
                continue;
            }
            foreach (var (_, tensor) in reads.Where(read => read.Step == target))
            {
                if (config.Output.FirstOrDefault(output => output.Name == tensor) is not { } produced)
                {
                    continue; // reported where it is read
                }
                if (standIn.Output.FirstOrDefault(output => output.Name == tensor) is not { } replacement)
                {
                    found.Add(field, $"stands in for step '{target}', whose output '{tensor}' is read, but {fallback.Describe()} has no output '{tensor}'; its outputs are {Join(standIn.Output.Select(output => output.Name))}");
                }
                else if (replacement.DataType != produced.DataType)
                {
                    found.Add(field, $"stands in for step '{target}', whose output '{tensor}' is {produced.DataType}, but {fallback.Describe()} output '{tensor}' is {replacement.DataType}");
                }
                else if (!ShapesMatch(FullShape(standIn, replacement), FullShape(config, produced)))
                {
                    found.Add(field, $"stands in for step '{target}', whose output '{tensor}' has shape {FormatShape(FullShape(config, produced))}, but {fallback.Describe()} output '{tensor}' has {FormatShape(FullShape(standIn, replacement))}");
                }
            }
        }

        var standIns = fallbacks.Values.ToDictionary(fallback => fallback.Name!, fallback => fallback.Request.FallbackFor!, StringComparer.Ordinal);
        foreach (var step in steps)
        {
            foreach (var source in step.Sources.Where(source => source.Step is { } from && standIns.ContainsKey(from)))
            {
                found.Add($"steps[{step.Index}].inputs.{source.Input}", $"reads step '{source.Step}', a fallback; read '{standIns[source.Step!]}.{source.Tensor}', which it stands in for when '{standIns[source.Step!]}' fails");
            }
            // Readers of a step wait for its fallbacks too: they read whichever answered.
            foreach (var dependency in step.DependsOn.ToList())
            {
                for (var at = dependency; fallbacks.TryGetValue(at, out var fallback) && !ReferenceEquals(fallback, step); at = fallback.Name!)
                {
                    step.DependsOn.Add(fallback.Name!);
                }
            }
        }
        foreach (var output in outputs)
        {
            foreach (var source in (output.Otherwise ?? []).Prepend(new PipelineTensorRef(output.Step, output.Tensor)).Where(source => standIns.ContainsKey(source.Step)))
            {
                found.Add($"outputs.{output.Name}", $"comes from step '{source.Step}', a fallback; name '{standIns[source.Step]}.{source.Tensor}', which it stands in for when '{standIns[source.Step]}' fails");
            }
        }
    }

    /// <summary>Kahn's order, declaration order among steps that are ready together; a cycle is reported with its steps.</summary>
    private static List<StepInfo> Order(List<StepInfo> steps, Dictionary<string, StepInfo> byName, FieldErrors found)
    {
        var named = steps.Where(step => step.Name is not null && ReferenceEquals(byName[step.Name], step)).ToList();
        var order = new List<StepInfo>(named.Count);
        var done = new HashSet<string>(StringComparer.Ordinal);
        while (order.Count < named.Count)
        {
            var ready = named.FirstOrDefault(step => !done.Contains(step.Name!) && step.DependsOn.All(done.Contains));
            if (ready is null)
            {
                found.Add("steps", $"{CycleOf(named.Where(step => !done.Contains(step.Name!)).ToList(), byName)} form a cycle: a step can only read the outputs of steps that do not read its own");
                break;
            }
            order.Add(ready);
            done.Add(ready.Name!);
        }
        return order;
    }

    /// <summary>"a → b → a": follows dependencies among <paramref name="left"/> (each has one there, or it would be ready) until one repeats.</summary>
    private static string CycleOf(List<StepInfo> left, Dictionary<string, StepInfo> byName)
    {
        var names = left.Select(step => step.Name!).ToHashSet(StringComparer.Ordinal);
        var path = new List<string>();
        var current = left[0];
        while (!path.Contains(current.Name!))
        {
            path.Add(current.Name!);
            current = byName[current.DependsOn.First(names.Contains)];
        }
        var start = path.IndexOf(current.Name!);
        return "the steps " + string.Join(" → ", path.Skip(start).Append(current.Name!));
    }

    private static List<PipelineOutputRoute> ResolveOutputs(Dictionary<string, PipelineOutputSources?>? requested, List<StepInfo> steps, Dictionary<string, StepInfo> byName, FieldErrors found)
    {
        var outputs = new List<PipelineOutputRoute>();
        if (requested is null)
        {
            // Without outputs: the last step's, under their own names.
            if (steps.Count > 0 && steps[^1] is { Name: { } last, Config: { } config })
            {
                outputs.AddRange(config.Output.Select(tensor => new PipelineOutputRoute(tensor.Name, last, tensor.Name)));
            }
            return outputs;
        }
        if (requested.Count == 0)
        {
            found.Add("outputs", "must name at least one output, e.g. {\"label\": \"clf.label\"}, or be left out to answer with the last step's outputs");
            return outputs;
        }
        foreach (var (name, sources) in requested)
        {
            var field = $"outputs.{name}";
            if (name.Length == 0)
            {
                found.Add("outputs", "has an output with an empty name; name each output the answer carries");
                continue;
            }
            if (sources is not { Sources.Count: > 0 })
            {
                found.Add(field, $"must be {PipelineOutputSources.ExpectedJson}, got {(sources is null ? "null" : "an empty list")}");
                continue;
            }
            var resolved = new List<(PipelineTensorRef Source, ModelConfig? Config, ModelTensorConfig? Tensor)>(sources.Sources.Count);
            foreach (var source in sources.Sources)
            {
                if (ResolveOutputSource(field, source, byName, found) is { } entry)
                {
                    resolved.Add(entry);
                }
            }
            if (resolved.Count != sources.Sources.Count)
            {
                continue;
            }
            // Rows of one output come from any entry: they must agree on datatype and on the shape of a row.
            var (first, firstConfig, firstTensor) = resolved[0];
            foreach (var (source, config, tensor) in resolved.Skip(1))
            {
                if (firstTensor is null || tensor is null)
                {
                    continue;
                }
                if (tensor.DataType != firstTensor.DataType)
                {
                    found.Add(field, $"lists '{first.Step}.{first.Tensor}', which is {firstTensor.DataType}, and '{source.Step}.{source.Tensor}', which is {tensor.DataType}: the entries of one output must have one datatype");
                }
                else if (!ShapesMatch(FullShape(firstConfig!, firstTensor), FullShape(config!, tensor)))
                {
                    found.Add(field, $"lists '{first.Step}.{first.Tensor}' of shape {FormatShape(FullShape(firstConfig!, firstTensor))} and '{source.Step}.{source.Tensor}' of shape {FormatShape(FullShape(config!, tensor))}: the entries of one output must have one shape (-1: any size)");
                }
            }
            outputs.Add(new PipelineOutputRoute(name, first.Step, first.Tensor, resolved.Count == 1 ? null : [.. resolved.Skip(1).Select(entry => entry.Source)]));
        }
        return outputs;
    }

    /// <summary>One entry of an output: a step's output that exists, with its config when the step's model is known.</summary>
    private static (PipelineTensorRef Source, ModelConfig? Config, ModelTensorConfig? Tensor)? ResolveOutputSource(string field, string? source, Dictionary<string, StepInfo> byName, FieldErrors found)
    {
        if (source is not null && source.StartsWith(RequestPrefix, StringComparison.Ordinal))
        {
            found.Add(field, $"must be an output of a step (\"<step>.<output>\"), got {Quote(source)}: a pipeline answers with what its steps produce");
            return null;
        }
        if (!TrySplit(source, out var stepName, out var tensor))
        {
            found.Add(field, $"must be \"<step>.<output>\", got {Quote(source)}");
            return null;
        }
        if (!byName.TryGetValue(stepName, out var step))
        {
            found.Add(field, $"comes from step '{stepName}', which is not in the pipeline; {StepList(byName)}");
            return null;
        }
        if (step.Config is not { } config)
        {
            return (new PipelineTensorRef(stepName, tensor), null, null);
        }
        if (config.Output.FirstOrDefault(output => output.Name == tensor) is not { } produced)
        {
            found.Add(field, $"is output '{tensor}' of step '{stepName}', which nothing produces: {step.Describe()} has the outputs {Join(config.Output.Select(output => output.Name))}");
            return null;
        }
        return (new PipelineTensorRef(stepName, tensor), config, produced);
    }

    private static bool TrySplit(string? source, out string step, out string tensor)
    {
        // Split at the first '.': step names have none, output names may ("output.1").
        var dot = source?.IndexOf('.') ?? -1;
        if (source is null || dot <= 0 || dot == source.Length - 1)
        {
            step = tensor = "";
            return false;
        }
        step = source[..dot];
        tensor = source[(dot + 1)..];
        return true;
    }

    /// <summary>The shape a request to the model carries: the batch dimension first when the model has one.</summary>
    private static long[] FullShape(ModelConfig config, ModelTensorConfig tensor) =>
        config.MaxBatchSize > 0 ? [-1, .. tensor.Dims] : [.. tensor.Dims];

    private static bool ShapesMatch(long[] produced, long[] taken)
    {
        if (produced.Length != taken.Length)
        {
            return false;
        }
        for (var i = 0; i < produced.Length; i++)
        {
            if (produced[i] >= 0 && taken[i] >= 0 && produced[i] != taken[i])
            {
                return false;
            }
        }
        return true;
    }

    private static string FormatShape(long[] shape) => "[" + string.Join(", ", shape.Select(dim => dim.ToString(CultureInfo.InvariantCulture))) + "]";

    private static IReadOnlyDictionary<string, string>? Sorted(Dictionary<string, string?>? inputs) =>
        inputs is null ? null : new SortedDictionary<string, string>(inputs.ToDictionary(input => input.Key, input => input.Value!), StringComparer.Ordinal);

    private static string StepList(Dictionary<string, StepInfo> byName) =>
        byName.Count == 0 ? "it has no named steps" : $"the steps are {Join(byName.Keys)}";

    private static string Join(IEnumerable<string> names) => string.Join(", ", names.Select(name => $"'{name}'"));

    private static string Quote(string? text) => text is null ? "null" : $"\"{text}\"";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex StepName();

    // The registry's rule for model names (0002_registry.sql), so a pipeline can be named like the model it wraps.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex PipelineName();

    /// <param name="Name">Null when the step's name is missing, malformed or taken (reported already).</param>
    /// <param name="Version">The version checked against; null when the model or the version is unknown (reported already).</param>
    private sealed record StepInfo(int Index, PipelineStepRequest Request, string? Name, string? Model, long? Version, ModelConfig? Config)
    {
        public HashSet<string> DependsOn { get; } = new(StringComparer.Ordinal);

        public List<PipelineTensorSource> Sources { get; } = [];

        /// <summary>The route's condition; null without a <c>when</c> (or with a wrong one, reported).</summary>
        public PipelineCondition? Condition { get; set; }

        /// <summary>The <c>when</c> as stored: its fields with their defaults filled in.</summary>
        public PipelineStepCondition? StoredCondition { get; set; }

        /// <summary>The step whose <c>when</c> decides which rows this one answers (itself, or one it reads); null: every row.</summary>
        public StepInfo? SelectedBy { get; set; }

        public string Describe() => $"model '{Model}' version {Version}";
    }
}

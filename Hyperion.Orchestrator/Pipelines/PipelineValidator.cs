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
        var outputs = ResolveOutputs(request.Outputs, steps, byName, found);
        ResolveFallbacks(steps, byName, outputs, found);
        var order = Order(steps, byName, found);

        errors = found.ToDictionary();
        if (errors.Count > 0)
        {
            return null;
        }
        var spec = new PipelineSpec(
            [.. steps.Select(step => new PipelineStep(step.Name!, step.Model!, step.Request.Version, Sorted(step.Request.Inputs), step.Request.TimeoutMs, step.Request.FallbackFor))],
            request.Outputs?.ToDictionary(output => output.Key, output => output.Value!, StringComparer.Ordinal));
        return new ValidatedPipeline(
            spec,
            [.. order.Select(step => new PipelineStepRoute(step.Name!, step.Model!, step.Request.Version, step.Sources, step.Request.TimeoutMs, step.Request.FallbackFor))],
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
            .Concat(outputs.Select(output => (output.Step, output.Tensor)))
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
        foreach (var output in outputs.Where(output => standIns.ContainsKey(output.Step)))
        {
            found.Add($"outputs.{output.Name}", $"comes from step '{output.Step}', a fallback; name '{standIns[output.Step]}.{output.Tensor}', which it stands in for when '{standIns[output.Step]}' fails");
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

    private static List<PipelineOutputRoute> ResolveOutputs(Dictionary<string, string?>? requested, List<StepInfo> steps, Dictionary<string, StepInfo> byName, FieldErrors found)
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
        foreach (var (name, source) in requested)
        {
            var field = $"outputs.{name}";
            if (name.Length == 0)
            {
                found.Add("outputs", "has an output with an empty name; name each output the answer carries");
                continue;
            }
            if (source is not null && source.StartsWith(RequestPrefix, StringComparison.Ordinal))
            {
                found.Add(field, $"must be an output of a step (\"<step>.<output>\"), got {Quote(source)}: a pipeline answers with what its steps produce");
                continue;
            }
            if (!TrySplit(source, out var stepName, out var tensor))
            {
                found.Add(field, $"must be \"<step>.<output>\", got {Quote(source)}");
                continue;
            }
            if (!byName.TryGetValue(stepName, out var step))
            {
                found.Add(field, $"comes from step '{stepName}', which is not in the pipeline; {StepList(byName)}");
                continue;
            }
            if (step.Config is { } config && config.Output.All(output => output.Name != tensor))
            {
                found.Add(field, $"is output '{tensor}' of step '{stepName}', which nothing produces: {step.Describe()} has the outputs {Join(config.Output.Select(output => output.Name))}");
                continue;
            }
            outputs.Add(new PipelineOutputRoute(name, stepName, tensor));
        }
        return outputs;
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

        public string Describe() => $"model '{Model}' version {Version}";
    }
}

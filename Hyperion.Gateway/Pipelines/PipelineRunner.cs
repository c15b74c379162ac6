using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Hyperion.Contracts.Codecs;
using Hyperion.Contracts.Codecs.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;
using Hyperion.Gateway.Routing;
using Microsoft.Extensions.Options;

namespace Hyperion.Gateway.Pipelines;

/// <summary>
/// Runs one <c>POST /v2/pipelines/{p}/infer</c>: decodes the OIP request (JSON, or the binary extension), starts every
/// step as soon as the steps it reads have answered (independent steps run at once), and answers with the pipeline's
/// outputs in OIP form. The first step to fail decides the answer: its status and a message naming the step, its model
/// and version; the steps still running are cancelled.
/// </summary>
internal sealed class PipelineRunner(RoutingTableCache routing, PipelineStepClient steps, GatewayMetrics metrics, IOptions<GatewayOptions> options)
{
    /// <summary>One span per call and one per step under it (exported with the service's traces: <c>Hyperion.*</c>).</summary>
    public const string ActivitySourceName = "Hyperion.Gateway.Pipelines";

    private static readonly ActivitySource s_activities = new(ActivitySourceName);

    public const string RevisionHeader = "X-Hyperion-Pipeline-Revision";
    public const string StepVersionsHeader = "X-Hyperion-Step-Versions";

    private readonly long _maxBodyBytes = options.Value.MaxRequestBodyBytes;

    public async Task RunAsync(HttpContext context, string pipeline)
    {
        var snapshot = routing.Current;
        if (snapshot.FindPipeline(pipeline) is not { } plan)
        {
            await FailAsync(context, StatusCodes.Status404NotFound,
                $"pipeline '{pipeline}' does not exist; create it with PUT /api/v1/pipelines/{pipeline} (the gateway hears of a new pipeline within a second)");
            return;
        }
        using var activity = s_activities.StartActivity($"pipeline {plan.Name}");
        activity?.SetTag("hyperion.pipeline", plan.Name);
        activity?.SetTag("hyperion.pipeline.revision", plan.Revision);
        var started = Stopwatch.GetTimestamp();
        var (body, length) = await ReadBodyAsync(context.Request, _maxBodyBytes, context.RequestAborted);
        try
        {
            var headerLength = int.TryParse(context.Request.Headers[OipBinaryWire.HeaderLengthName], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : length;
            if (headerLength > length)
            {
                await FailAsync(context, StatusCodes.Status400BadRequest, $"{OipBinaryWire.HeaderLengthName} is {headerLength} but the body has {length} bytes");
                return;
            }
            InferenceRequest request;
            try
            {
                request = OipJsonRequestReader.Read(body.AsSpan(0, headerLength), body.AsSpan(headerLength, length - headerLength), pipeline, null);
            }
            catch (InferenceException ex)
            {
                await FailAsync(context, StatusCodes.Status400BadRequest, ex.Message);
                return;
            }
            using (request)
            {
                await RunAsync(context, plan, snapshot, request);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
            var outcome = ArmOutcomes.OfStatus(context.Response.StatusCode);
            metrics.PipelineRequest(plan.Name, outcome, Stopwatch.GetElapsedTime(started).TotalSeconds);
            if (outcome != ArmOutcome.Success)
            {
                activity?.SetStatus(ActivityStatusCode.Error, $"HTTP {context.Response.StatusCode}");
            }
        }
    }

    private async Task RunAsync(HttpContext context, PipelinePlan plan, RoutingSnapshot snapshot, InferenceRequest request)
    {
        if (Problem(plan, request) is { } problem)
        {
            await FailAsync(context, StatusCodes.Status400BadRequest, problem);
            return;
        }
        var session = context.Request.Headers[ArmSelector.SessionHeader].ToString();
        var requestId = context.Response.Headers[RequestIdMiddleware.HeaderName].ToString();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var runs = new Task<StepOutcome>[plan.Steps.Count];
        // The plan's order puts every step after the steps it reads, so each one's sources have tasks already.
        foreach (var step in plan.Steps)
        {
            runs[step.Index] = RunStepAsync(plan, step, runs, request, snapshot, session, requestId, cancel);
        }
        var outcomes = await Task.WhenAll(runs);
        try
        {
            // A step whose fallback ran is answered for by it: its failure (or its fallback's) is not the one reported.
            if (outcomes.FirstOrDefault(outcome => outcome.HasFailed && outcome.Step.Fallback < 0) is { } failed)
            {
                await FailAsync(context, failed.Status, failed.Error!);
                return;
            }
            if (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }
            await AnswerAsync(context, plan, request, outcomes);
        }
        finally
        {
            foreach (var outcome in outcomes)
            {
                outcome.Dispose();
            }
        }
    }

    private async Task<StepOutcome> RunStepAsync(
        PipelinePlan plan, PlannedStep step, Task<StepOutcome>[] runs, InferenceRequest request, RoutingSnapshot snapshot, string session, string requestId, CancellationTokenSource cancel)
    {
        if (step.StandsInFor >= 0 && !(await runs[step.StandsInFor]).HasFailed)
        {
            metrics.PipelineStep(plan.Name, step.Name, "skipped", 0);
            return StepOutcome.Failed(step, StatusCodes.Status499ClientClosedRequest, "not needed: the step it stands in for did not fail");
        }
        // What answered for each step it reads: the step, or its fallback when it failed.
        var sources = new StepOutcome[step.DependsOn.Length];
        for (var i = 0; i < sources.Length; i++)
        {
            sources[i] = await AnsweredAsync(plan, runs, step.DependsOn[i]);
            if (!sources[i].Ok)
            {
                metrics.PipelineStep(plan.Name, step.Name, "skipped", 0);
                return StepOutcome.Failed(step, StatusCodes.Status499ClientClosedRequest, "a step it reads failed");
            }
        }
        if (cancel.IsCancellationRequested)
        {
            metrics.PipelineStep(plan.Name, step.Name, "skipped", 0);
            return StepOutcome.Failed(step, StatusCodes.Status499ClientClosedRequest, "cancelled");
        }
        // Started once its sources answered: the span shows how long the step itself took.
        using var activity = s_activities.StartActivity($"pipeline step {step.Name}");
        activity?.SetTag("hyperion.pipeline.step", step.Name);
        activity?.SetTag("hyperion.model", step.Model);
        var started = Stopwatch.GetTimestamp();
        var outcome = await SendAsync(step, sources, request, snapshot, session, requestId, cancel.Token);
        activity?.SetTag("hyperion.model.version", outcome.Version);
        metrics.PipelineStep(plan.Name, step.Name,
            outcome.Skipped ? "skipped" : GatewayMetrics.Label(ArmOutcomes.OfStatus(outcome.Status)), Stopwatch.GetElapsedTime(started).TotalSeconds);
        if (outcome.HasFailed)
        {
            activity?.SetStatus(ActivityStatusCode.Error, outcome.Error);
            if (step.Fallback < 0)
            {
                // The pipeline's answer is decided: the steps still running are of no use.
                await cancel.CancelAsync();
            }
        }
        return outcome;
    }

    /// <summary>What answers for step <paramref name="index"/>: its own outcome, or when it failed, its fallback's (and so on).</summary>
    private static async Task<StepOutcome> AnsweredAsync(PipelinePlan plan, Task<StepOutcome>[] runs, int index)
    {
        var outcome = await runs[index];
        while (outcome.HasFailed && plan.Steps[index].Fallback >= 0)
        {
            index = plan.Steps[index].Fallback;
            outcome = await runs[index];
        }
        return outcome;
    }

    /// <summary><see cref="AnsweredAsync"/> once every step has ended.</summary>
    private static StepOutcome Answered(PipelinePlan plan, IReadOnlyList<StepOutcome> outcomes, int index)
    {
        var outcome = outcomes[index];
        while (outcome.HasFailed && plan.Steps[index].Fallback >= 0)
        {
            index = plan.Steps[index].Fallback;
            outcome = outcomes[index];
        }
        return outcome;
    }

    /// <param name="sources">What answered for each of <see cref="PlannedStep.DependsOn"/>, in its order.</param>
    private async Task<StepOutcome> SendAsync(
        PlannedStep step, StepOutcome[] sources, InferenceRequest request, RoutingSnapshot snapshot, string session, string requestId, CancellationToken cancellationToken)
    {
        var (arm, problem) = PipelineStepClient.Route(snapshot, step, session);
        if (arm is null)
        {
            return StepOutcome.Failed(step, StatusCodes.Status503ServiceUnavailable, problem!);
        }
        var inputs = new List<(string Input, TensorData Tensor)>(step.Inputs.Length);
        foreach (var input in step.Inputs)
        {
            var from = input.Step < 0 ? null : sources[Array.IndexOf(step.DependsOn, input.Step)];
            var tensor = from is null ? FindInput(request, input.Tensor) : from.Find(input.Tensor);
            if (tensor is null)
            {
                // Request tensors were checked before any step ran. The orchestrator checked the outputs against the
                // version serving then; the deployment has moved since.
                return StepOutcome.Failed(step, StatusCodes.Status502BadGateway,
                    $"step '{from?.Step.Name}' (model '{from?.Step.Model}' version {from?.Version}) answered without output '{input.Tensor}', which step '{step.Name}' reads as '{input.Input}'");
            }
            inputs.Add((input.Input, tensor));
        }
        var body = OipBinaryWire.EncodeRequest(inputs, out var headerLength);
        return await steps.SendAsync(step, arm, body, headerLength, requestId, cancellationToken);
    }

    /// <summary>What the request lacks for this plan (a tensor a step reads, an output the pipeline does not have), or null.</summary>
    private static string? Problem(PipelinePlan plan, InferenceRequest request)
    {
        var missing = plan.RequestTensors.Where(tensor => FindInput(request, tensor) is null).ToList();
        if (missing.Count > 0)
        {
            return $"pipeline '{plan.Name}' reads the request inputs {Join(plan.RequestTensors)}; the request lacks {Join(missing)}";
        }
        var unknown = request.Outputs?.Where(output => plan.Outputs.All(planned => planned.Name != output.Name)).Select(output => output.Name).ToList();
        return unknown is { Count: > 0 }
            ? $"pipeline '{plan.Name}' has no output {Join(unknown)}; its outputs are {Join(plan.Outputs.Select(output => output.Name))}"
            : null;
    }

    private static async Task AnswerAsync(HttpContext context, PipelinePlan plan, InferenceRequest request, StepOutcome[] outcomes)
    {
        var answer = new InferenceResponse { ModelName = plan.Name, ModelVersion = plan.RevisionText, Id = request.Id };
        foreach (var output in plan.Outputs)
        {
            if (request.Outputs is { Count: > 0 } asked && asked.All(wanted => wanted.Name != output.Name))
            {
                continue;
            }
            var from = Answered(plan, outcomes, output.Step);
            if (from.Find(output.Tensor) is not { } tensor)
            {
                await FailAsync(context, StatusCodes.Status502BadGateway,
                    $"step '{from.Step.Name}' (model '{from.Step.Model}' version {from.Version}) answered without output '{output.Tensor}', the pipeline's output '{output.Name}'");
                return;
            }
            answer.Outputs.Add(Named(tensor, output.Name));
        }

        var response = context.Response;
        response.Headers[RevisionHeader] = plan.RevisionText;
        response.Headers[StepVersionsHeader] = string.Join(", ", outcomes.Where(outcome => outcome.Ok).Select(outcome => $"{outcome.Step.Name}={outcome.Version}"));
        using var header = new PooledBufferWriter(1024);
        if (!OipJsonResponseWriter.Write(header, answer, request))
        {
            response.ContentType = "application/json";
            response.ContentLength = header.WrittenCount;
            await response.Body.WriteAsync(header.WrittenMemory, context.RequestAborted);
            return;
        }
        var binary = answer.Outputs.Where(output => OipJsonResponseWriter.IsBinaryOutput(request, output.Name)).ToList();
        response.ContentType = OipBinaryWire.ContentType;
        response.Headers[OipBinaryWire.HeaderLengthName] = header.WrittenCount.ToString(CultureInfo.InvariantCulture);
        response.ContentLength = header.WrittenCount + binary.Sum(output => (long)output.Length);
        await response.Body.WriteAsync(header.WrittenMemory, context.RequestAborted);
        foreach (var output in binary)
        {
            await response.Body.WriteAsync(output.Memory, context.RequestAborted);
        }
    }

    /// <summary>The tensor under the pipeline's output name, over the same bytes (owned by the step's outcome).</summary>
    private static TensorData Named(TensorData tensor, string name)
    {
        if (tensor.Name == name)
        {
            return tensor;
        }
        if (!MemoryMarshal.TryGetArray<byte>(tensor.Memory, out var segment) || segment.Offset != 0)
        {
            var copy = TensorData.Rent(name, tensor.DataType, tensor.Shape, tensor.Length);
            tensor.Span.CopyTo(copy.Span);
            return copy;
        }
        return TensorData.Wrap(name, tensor.DataType, tensor.Shape, segment.Array!, tensor.Length);
    }

    private static TensorData? FindInput(InferenceRequest request, string name)
    {
        foreach (var input in request.Inputs)
        {
            if (input.Name == name)
            {
                return input;
            }
        }
        return null;
    }

    /// <summary>The body in a pooled buffer (the caller returns it). Kestrel bounds it (the gateway's body limit).</summary>
    private static async Task<(byte[] Buffer, int Length)> ReadBodyAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(request.ContentLength ?? 4096, 1, limit));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    return (buffer, length);
                }
                length += read;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static Task FailAsync(HttpContext context, int status, string message) =>
        GatewayErrors.WriteAsync(context, ErrorStyle.Oip, status, message);

    private static string Join(IEnumerable<string> names)
    {
        var text = new StringBuilder();
        foreach (var name in names)
        {
            text.Append(text.Length == 0 ? "" : ", ").Append('\'').Append(name).Append('\'');
        }
        return text.ToString();
    }
}

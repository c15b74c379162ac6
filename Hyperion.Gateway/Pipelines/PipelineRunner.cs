using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Hyperion.Contracts.Codecs;
using Hyperion.Contracts.Codecs.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;
using Google.Protobuf;
using Hyperion.Gateway.Routing;
using Hyperion.Inference.Protocol.Grpc;
using Hyperion.Inference.Protocol.Grpc.V2;
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

    /// <param name="call">A pipeline call: over REST (the body is read here) or gRPC (the message the classification read).</param>
    public async Task RunAsync(HttpContext context, RequestClassification call)
    {
        var pipeline = call.Pipeline!;
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
        try
        {
            if (call.ErrorStyle == ErrorStyle.Grpc)
            {
                await RunGrpcAsync(context, plan, snapshot, call.GrpcMessage);
            }
            else
            {
                await RunRestAsync(context, plan, snapshot);
            }
        }
        finally
        {
            var outcome = ArmOutcomes.Of(context, call.ErrorStyle == ErrorStyle.Grpc ? PathShape.Grpc : PathShape.None);
            metrics.PipelineRequest(plan.Name, outcome, Stopwatch.GetElapsedTime(started).TotalSeconds);
            if (outcome != ArmOutcome.Success)
            {
                activity?.SetStatus(ActivityStatusCode.Error, call.ErrorStyle == ErrorStyle.Grpc ? "gRPC error" : $"HTTP {context.Response.StatusCode}");
            }
        }
    }

    private async Task RunRestAsync(HttpContext context, PipelinePlan plan, RoutingSnapshot snapshot)
    {
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
                request = OipJsonRequestReader.Read(body.AsSpan(0, headerLength), body.AsSpan(headerLength, length - headerLength), plan.Name, null);
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
        }
    }

    /// <summary>A ModelInfer message (frame header included) whose <c>model_name</c> is <c>pipelines/&lt;p&gt;</c>.</summary>
    private async Task RunGrpcAsync(HttpContext context, PipelinePlan plan, RoutingSnapshot snapshot, ReadOnlyMemory<byte> frame)
    {
        InferenceRequest request;
        try
        {
            request = GrpcInferConverter.ToRequest(ModelInferRequest.Parser.ParseFrom(frame.Span[GrpcFrame.HeaderLength..]));
        }
        catch (Exception ex) when (ex is InferenceException or InvalidProtocolBufferException)
        {
            await FailAsync(context, StatusCodes.Status400BadRequest, ex.Message);
            return;
        }
        using (request)
        {
            await RunAsync(context, plan, snapshot, request);
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
                return StepOutcome.Failed(step, StatusCodes.Status499ClientClosedRequest, "a step it reads did not answer", rows: []);
            }
        }
        if (cancel.IsCancellationRequested)
        {
            metrics.PipelineStep(plan.Name, step.Name, "skipped", 0);
            return StepOutcome.Failed(step, StatusCodes.Status499ClientClosedRequest, "cancelled");
        }
        var (rows, problem) = await RowsAsync(step, sources, runs);
        if (problem is not null)
        {
            metrics.PipelineStep(plan.Name, step.Name, GatewayMetrics.Label(ArmOutcome.Error), 0);
            if (step.Fallback < 0)
            {
                await cancel.CancelAsync();
            }
            return problem;
        }
        if (rows is { Length: 0 })
        {
            metrics.PipelineStep(plan.Name, step.Name, "skipped", 0);
            return StepOutcome.Failed(step, StatusCodes.Status499ClientClosedRequest, "its condition held for no row", rows: []);
        }
        // Started once its sources answered: the span shows how long the step itself took.
        using var activity = s_activities.StartActivity($"pipeline step {step.Name}");
        activity?.SetTag("hyperion.pipeline.step", step.Name);
        activity?.SetTag("hyperion.model", step.Model);
        if (rows is not null)
        {
            activity?.SetTag("hyperion.pipeline.step.rows", rows.Length);
        }
        var started = Stopwatch.GetTimestamp();
        var outcome = await SendAsync(plan, step, sources, rows, request, snapshot, session, requestId, cancel.Token);
        outcome.Rows = rows;
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

    /// <summary>
    /// The request rows the step answers (null: every row): those every step it reads answered, those of the step it
    /// stands in for, and of those, the ones its <c>when</c> holds for. A problem (502) when the tensor judged does not fit.
    /// </summary>
    private static async Task<(int[]? Rows, StepOutcome? Problem)> RowsAsync(PlannedStep step, StepOutcome[] sources, Task<StepOutcome>[] runs)
    {
        int[]? rows = null;
        foreach (var source in sources)
        {
            rows = RowSelection.Intersect(rows, source.Rows);
        }
        if (step.StandsInFor >= 0)
        {
            rows = RowSelection.Intersect(rows, (await runs[step.StandsInFor]).Rows);
        }
        if (step.When is not { } when)
        {
            return (rows, null);
        }
        var judged = sources[Array.IndexOf(step.DependsOn, when.Step)];
        var subject = $"step '{step.Name}' has the condition {when.Describe()}, but step '{judged.Step.Name}' (model '{judged.Step.Model}' version {judged.Version})";
        if (judged.Find(when.Tensor) is not { } tensor)
        {
            return (null, StepOutcome.Failed(step, StatusCodes.Status502BadGateway, $"{subject} answered without output '{when.Tensor}'"));
        }
        try
        {
            return (RowSelection.Intersect(rows, when.Select(tensor, judged.Rows)), null);
        }
        catch (PipelineRowException ex)
        {
            return (null, StepOutcome.Failed(step, StatusCodes.Status502BadGateway, $"{subject} answered what it cannot judge: {ex.Message}"));
        }
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
    /// <param name="rows">The request rows the step answers; null: every row.</param>
    private async Task<StepOutcome> SendAsync(
        PipelinePlan plan, PlannedStep step, StepOutcome[] sources, int[]? rows, InferenceRequest request, RoutingSnapshot snapshot, string session, string requestId, CancellationToken cancellationToken)
    {
        var (arm, problem) = PipelineStepClient.Route(snapshot, step, session);
        if (arm is null)
        {
            return StepOutcome.Failed(step, StatusCodes.Status503ServiceUnavailable, problem!);
        }
        var inputs = new List<(string Input, TensorData Tensor)>(step.Inputs.Length);
        List<TensorData>? gathered = null;
        byte[] body;
        int headerLength;
        try
        {
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
                if (rows is not null)
                {
                    try
                    {
                        tensor = RowSelection.Gather(tensor, from?.Rows, rows, out var copied);
                        if (copied)
                        {
                            (gathered ??= []).Add(tensor);
                        }
                    }
                    catch (PipelineRowException ex)
                    {
                        var source = from is null ? "the request" : $"step '{from.Step.Name}' (model '{from.Step.Model}' version {from.Version})";
                        return StepOutcome.Failed(step, from is null ? StatusCodes.Status400BadRequest : StatusCodes.Status502BadGateway,
                            $"step '{step.Name}' runs for some rows of the request, which {source} cannot give for input '{input.Input}': {ex.Message}");
                    }
                }
                inputs.Add((input.Input, tensor));
            }
            body = OipBinaryWire.EncodeRequest(inputs, out headerLength);
        }
        finally
        {
            foreach (var tensor in gathered ?? [])
            {
                tensor.Dispose();
            }
        }
        metrics.PipelineStepRows(plan.Name, step.Name, rows?.Length ?? RowsOf(inputs));
        return await steps.SendAsync(step, arm, body, headerLength, requestId, cancellationToken);
    }

    /// <summary>The rows of a step sent every row: its first input's first dimension (1 for a scalar or no input).</summary>
    private static long RowsOf(List<(string Input, TensorData Tensor)> inputs) =>
        inputs is [{ Tensor.Shape: [var rows, ..] }, ..] ? rows : 1;

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
        var owned = new List<TensorData>();
        try
        {
            foreach (var output in plan.Outputs)
            {
                if (request.Outputs is { Count: > 0 } asked && asked.All(wanted => wanted.Name != output.Name))
                {
                    continue;
                }
                var (tensor, problem) = Output(plan, outcomes, output, owned);
                if (problem is not null)
                {
                    await FailAsync(context, StatusCodes.Status502BadGateway, problem);
                    return;
                }
                answer.Outputs.Add(tensor!);
            }
            await WriteAsync(context, plan, request, outcomes, answer);
        }
        finally
        {
            foreach (var tensor in owned)
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>
    /// The pipeline output under its name: the tensor of the step that answered, or for an output listing several
    /// steps, each row from the first that answered it. Copies it makes go to <paramref name="owned"/>.
    /// </summary>
    private static (TensorData? Tensor, string? Problem) Output(PipelinePlan plan, StepOutcome[] outcomes, PlannedOutput output, List<TensorData> owned)
    {
        var sources = new (TensorData? Tensor, int[]? Rows)[output.Sources.Length];
        for (var i = 0; i < sources.Length; i++)
        {
            var from = Answered(plan, outcomes, output.Sources[i].Step);
            if (!from.Ok)
            {
                continue; // its when held for no row (the last source always answers, or the call has failed)
            }
            if (from.Find(output.Sources[i].Tensor) is not { } found)
            {
                return (null, $"step '{from.Step.Name}' (model '{from.Step.Model}' version {from.Version}) answered without output '{output.Sources[i].Tensor}', the pipeline's output '{output.Name}'");
            }
            if (from.Rows is null)
            {
                if (Array.FindIndex(sources, 0, i, source => source.Tensor is not null) < 0)
                {
                    // Every row from one step, unchanged.
                    return (Named(found, output.Name, owned), null);
                }
                sources[i] = (found, null);
                Array.Resize(ref sources, i + 1);
                break;
            }
            sources[i] = (found, from.Rows);
        }
        try
        {
            var coalesced = RowSelection.Coalesce(output.Name, sources);
            owned.Add(coalesced);
            return (coalesced, null);
        }
        catch (PipelineRowException ex)
        {
            return (null, $"the pipeline's output '{output.Name}' cannot be put together from its steps' rows: {ex.Message}");
        }
    }

    private static async Task WriteAsync(HttpContext context, PipelinePlan plan, InferenceRequest request, StepOutcome[] outcomes, InferenceResponse answer)
    {
        var response = context.Response;
        response.Headers[RevisionHeader] = plan.RevisionText;
        response.Headers[StepVersionsHeader] = string.Join(", ", outcomes.Where(outcome => outcome.Ok).Select(outcome => $"{outcome.Step.Name}={outcome.Version}"));
        if (context.Features.Get<RequestClassification>() is { ErrorStyle: ErrorStyle.Grpc })
        {
            await GrpcFrame.WriteAsync(response, GrpcInferConverter.ToMessage(answer), context.RequestAborted);
            return;
        }
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

    /// <summary>The tensor under the pipeline's output name, over the same bytes (owned by the step's outcome) where it can be.</summary>
    private static TensorData Named(TensorData tensor, string name, List<TensorData> owned)
    {
        if (tensor.Name == name)
        {
            return tensor;
        }
        if (!MemoryMarshal.TryGetArray<byte>(tensor.Memory, out var segment) || segment.Offset != 0)
        {
            var copy = TensorData.Rent(name, tensor.DataType, tensor.Shape, tensor.Length);
            tensor.Span.CopyTo(copy.Span);
            owned.Add(copy);
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

    /// <summary>In the call's form: OIP's <c>{"error": ...}</c>, or a gRPC status.</summary>
    private static Task FailAsync(HttpContext context, int status, string message) =>
        GatewayErrors.WriteAsync(context, context.Features.Get<RequestClassification>()?.ErrorStyle ?? ErrorStyle.Oip, status, message);

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

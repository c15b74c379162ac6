using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;
using Hyperion.Inference.Backends;
using Hyperion.Inference.Metrics;
using Hyperion.Inference.Repository;
using Microsoft.Extensions.Logging;

namespace Hyperion.Inference.Batching;

/// <summary>
/// Runs batches on one instance: concatenates the requests' inputs along dimension 0 into one pooled buffer
/// per input (a single request's inputs go to the backend as they are), runs the model, and copies each
/// request's rows of the requested outputs into its own pooled tensors. Used by one thread at a time: its instance's worker, or a request running inline while the instance is free.
/// </summary>
internal sealed partial class BatchExecutor(
    ModelVersionKey key, ModelSignature signature, IModelInstance instance, InferenceMetrics metrics, ILogger logger)
{
    private readonly TensorData[] _batchInputs = new TensorData[signature.Inputs.Length];
    private readonly int[] _outputOffsets = new int[signature.Outputs.Length];
    private readonly int[] _sliceStarts = new int[signature.Outputs.Length];
    private readonly int[] _sliceLengths = new int[signature.Outputs.Length];
    private readonly List<PendingRequest> _single = new(1);

    public void ExecuteOne(PendingRequest request)
    {
        _single.Add(request);
        try
        {
            Execute(_single);
        }
        finally
        {
            _single.Clear();
        }
    }

    public void Execute(List<PendingRequest> batch)
    {
        var start = Stopwatch.GetTimestamp();
        var totalRows = 0;
        foreach (var request in batch)
        {
            totalRows += request.Rows;
            metrics.RecordQueueWait(key.Model, key.Version, Stopwatch.GetElapsedTime(request.EnqueuedAt, start));
        }

        var concatenated = batch.Count > 1;
        IModelOutputs? outputs = null;
        try
        {
            ReadOnlySpan<TensorData> inputs;
            if (concatenated)
            {
                for (var i = 0; i < _batchInputs.Length; i++)
                {
                    _batchInputs[i] = Concatenate(batch, i, totalRows);
                }
                inputs = _batchInputs;
            }
            else
            {
                inputs = CollectionsMarshal.AsSpan(batch[0].Request.Inputs);
            }

            outputs = instance.Run(inputs);
            metrics.RecordBatch(key.Model, key.Version, totalRows, Stopwatch.GetElapsedTime(start));
            if (signature.Batched)
            {
                CheckBatchDimension(outputs, totalRows);
            }
            Array.Clear(_outputOffsets);
            foreach (var request in batch)
            {
                request.Complete(Split(outputs, request, concatenated, totalRows));
            }
        }
        catch (Exception ex)
        {
            LogBatchFailed(logger, ex, key.Model, key.Version, batch.Count);
            var error = ex as InferenceException ?? new InferenceException(
                InferenceErrorKind.Internal, $"model '{key.Model}' version {key.Version} failed to run: {ex.Message}", ex);
            foreach (var request in batch)
            {
                request.Fail(error);
            }
        }
        finally
        {
            outputs?.Dispose();
            if (concatenated)
            {
                for (var i = 0; i < _batchInputs.Length; i++)
                {
                    _batchInputs[i]?.Dispose();
                    _batchInputs[i] = null!;
                }
            }
        }
    }

    private static TensorData Concatenate(List<PendingRequest> batch, int input, int totalRows)
    {
        var first = batch[0].Request.Inputs[input];
        var length = 0;
        foreach (var request in batch)
        {
            length += request.Request.Inputs[input].Length;
        }
        var shape = (long[])first.Shape.Clone();
        shape[0] = totalRows;
        var tensor = TensorData.Rent(first.Name, first.DataType, shape, length);
        var destination = tensor.Span;
        foreach (var request in batch)
        {
            var source = request.Request.Inputs[input].Span;
            source.CopyTo(destination);
            destination = destination[source.Length..];
        }
        return tensor;
    }

    private void CheckBatchDimension(IModelOutputs outputs, int totalRows)
    {
        for (var o = 0; o < signature.Outputs.Length; o++)
        {
            var shape = outputs.Shape(o);
            if (shape.Length == 0 || shape[0] != totalRows)
            {
                throw new InferenceException(
                    InferenceErrorKind.Internal,
                    $"model '{key.Model}' version {key.Version} output '{signature.Outputs[o].Name}' has shape " +
                    $"[{string.Join(',', shape.ToArray())}] for a batch of {totalRows}; outputs of a model with max_batch_size > 0 must keep the batch dimension");
            }
        }
    }

    /// <summary>Copies this request's rows of every output it asked for; advances the per-output offsets past its rows.</summary>
    private InferenceResponse Split(IModelOutputs outputs, PendingRequest request, bool concatenated, int totalRows)
    {
        for (var o = 0; o < _sliceStarts.Length; o++)
        {
            var data = outputs.Data(o);
            if (!concatenated)
            {
                _sliceStarts[o] = 0;
                _sliceLengths[o] = data.Length;
                continue;
            }
            var rowElements = TensorData.ElementCountOf(outputs.Shape(o)) / totalRows;
            int length;
            if (signature.Outputs[o].DataType == TensorDataType.Bytes)
            {
                length = MeasureStrings(data[_outputOffsets[o]..], rowElements * request.Rows);
            }
            else
            {
                length = (int)(rowElements * request.Rows * signature.Outputs[o].DataType.ElementSize());
            }
            _sliceStarts[o] = _outputOffsets[o];
            _sliceLengths[o] = length;
            _outputOffsets[o] += length;
        }

        var response = new InferenceResponse
        {
            ModelName = key.Model,
            ModelVersion = key.Version,
            Id = request.Request.Id,
            Rows = request.Rows,
        };
        try
        {
            var selection = request.OutputSelection;
            var count = selection?.Length ?? _sliceStarts.Length;
            for (var k = 0; k < count; k++)
            {
                var o = selection is null ? k : selection[k];
                var shape = outputs.Shape(o).ToArray();
                if (concatenated)
                {
                    shape[0] = request.Rows;
                }
                var spec = signature.Outputs[o];
                var tensor = TensorData.Rent(spec.Name, spec.DataType, shape, _sliceLengths[o]);
                response.Outputs.Add(tensor);
                outputs.Data(o).Slice(_sliceStarts[o], _sliceLengths[o]).CopyTo(tensor.Span);
            }
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Byte length of the first <paramref name="elements"/> length-prefixed BYTES elements.</summary>
    private static int MeasureStrings(ReadOnlySpan<byte> raw, long elements)
    {
        var offset = 0;
        for (long e = 0; e < elements; e++)
        {
            offset += 4 + (int)BinaryPrimitives.ReadUInt32LittleEndian(raw[offset..]);
        }
        return offset;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {Model} version {Version} failed to run a batch of {Requests} requests")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, string model, string version, int requests);
}

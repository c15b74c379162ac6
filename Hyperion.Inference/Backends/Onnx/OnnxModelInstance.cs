using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Hyperion.Contracts.Tensors;
using Hyperion.Inference.Repository;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Hyperion.Inference.Backends.Onnx;

/// <summary>
/// One ONNX Runtime session used by one batcher worker at a time. Inputs are handed to ORT without a copy
/// (ORT reads the pinned request or batch buffers); BYTES inputs are copied into ORT string tensors, which is
/// the only form ORT takes strings in.
/// </summary>
internal sealed class OnnxModelInstance : IModelInstance
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly TensorElementType[] _inputTypes;
    private readonly string[] _outputNames;
    private readonly OrtValue[] _inputValues;
    private readonly MemoryHandle[] _pins;
    private readonly OnnxOutputs _outputs;

    public OnnxModelInstance(InferenceSession session, ModelSignature signature)
    {
        _session = session;
        var inputs = signature.Inputs;
        _inputNames = new string[inputs.Length];
        _inputTypes = new TensorElementType[inputs.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            _inputNames[i] = inputs[i].Name;
            _inputTypes[i] = OnnxTypes.ToElementType(inputs[i].DataType);
        }
        var outputs = signature.Outputs;
        _outputNames = new string[outputs.Length];
        var outputIsString = new bool[outputs.Length];
        for (var i = 0; i < outputs.Length; i++)
        {
            _outputNames[i] = outputs[i].Name;
            outputIsString[i] = outputs[i].DataType == TensorDataType.Bytes;
        }
        _inputValues = new OrtValue[inputs.Length];
        _pins = new MemoryHandle[inputs.Length];
        _outputs = new OnnxOutputs(outputIsString);
    }

    public IModelOutputs Run(ReadOnlySpan<TensorData> inputs)
    {
        var created = 0;
        try
        {
            for (; created < inputs.Length; created++)
            {
                _inputValues[created] = CreateInput(inputs[created], created);
            }
            var results = _session.Run(_runOptions, _inputNames, _inputValues, _outputNames);
            _outputs.Attach(results);
            return _outputs;
        }
        finally
        {
            for (var i = 0; i < created; i++)
            {
                _inputValues[i].Dispose();
                _inputValues[i] = null!;
                _pins[i].Dispose();
                _pins[i] = default;
            }
        }
    }

    public void Dispose()
    {
        _outputs.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    private unsafe OrtValue CreateInput(TensorData tensor, int index)
    {
        if (_inputTypes[index] == TensorElementType.String)
        {
            return CreateStringInput(tensor);
        }
        _pins[index] = tensor.Memory.Pin();
        return OrtValue.CreateTensorValueWithData(
            OrtMemoryInfo.DefaultInstance, _inputTypes[index], tensor.Shape, (IntPtr)_pins[index].Pointer, tensor.Length);
    }

    private static OrtValue CreateStringInput(TensorData tensor)
    {
        var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, tensor.Shape);
        ReadOnlySpan<byte> raw = tensor.Span;
        for (var element = 0; !raw.IsEmpty; element++)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(raw);
            value.StringTensorSetElementAt(raw.Slice(4, length), element);
            raw = raw[(4 + length)..];
        }
        return value;
    }

    /// <summary>The outputs of the last run, reused across runs of this instance.</summary>
    private sealed unsafe class OnnxOutputs(bool[] isString) : IModelOutputs
    {
        private readonly OrtValue[] _values = new OrtValue[isString.Length];
        private readonly long[][] _shapes = new long[isString.Length][];
        // Asking ORT for an output's buffer allocates its shape each time; ask once per run.
        private readonly IntPtr[] _data = new IntPtr[isString.Length];
        private readonly int[] _dataLengths = new int[isString.Length];
        private readonly byte[]?[] _strings = new byte[isString.Length][];
        private readonly int[] _stringLengths = new int[isString.Length];
        private IDisposableReadOnlyCollection<OrtValue>? _results;

        public void Attach(IDisposableReadOnlyCollection<OrtValue> results)
        {
            _results = results;
            var i = 0;
            foreach (var value in results)
            {
                _values[i] = value;
                _shapes[i] = value.GetTensorTypeAndShape().Shape;
                if (isString[i])
                {
                    SerializeStrings(i, value);
                }
                else
                {
                    var raw = value.GetTensorMutableRawData();
                    _data[i] = (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetReference(raw));
                    _dataLengths[i] = raw.Length;
                }
                i++;
            }
        }

        public ReadOnlySpan<long> Shape(int output) => _shapes[output];

        public ReadOnlySpan<byte> Data(int output) =>
            isString[output]
                ? _strings[output].AsSpan(0, _stringLengths[output])
                : new ReadOnlySpan<byte>((void*)_data[output], _dataLengths[output]);

        public void Dispose()
        {
            _results?.Dispose();
            _results = null;
            Array.Clear(_values);
            Array.Clear(_data);
            for (var i = 0; i < _strings.Length; i++)
            {
                if (_strings[i] is { } buffer)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    _strings[i] = null;
                }
            }
        }

        // ORT keeps strings in its own form; write them once in Triton's length-prefixed layout.
        private void SerializeStrings(int output, OrtValue value)
        {
            var count = (int)TensorData.ElementCountOf(_shapes[output]);
            var total = 0;
            for (var e = 0; e < count; e++)
            {
                total += 4 + value.GetStringElementAsSpan(e).Length;
            }
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(total, 1));
            var offset = 0;
            for (var e = 0; e < count; e++)
            {
                var element = value.GetStringElementAsSpan(e);
                BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(offset), (uint)element.Length);
                element.CopyTo(buffer.AsSpan(offset + 4));
                offset += 4 + element.Length;
            }
            _strings[output] = buffer;
            _stringLengths[output] = total;
        }
    }
}

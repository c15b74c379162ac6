using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;
using Hyperion.TorchScript;
using TorchSharp;
using static TorchSharp.torch;

namespace Hyperion.Inference.Backends.TorchScript;

/// <summary>
/// One TorchScript module run by one batcher worker at a time, without gradient tracking. Inputs are copied once
/// into LibTorch tensors (TorchSharp makes tensors over managed memory only in the array's own element type, and
/// our buffers are bytes); outputs are read in place from LibTorch's memory.
/// </summary>
internal sealed class TorchScriptModelInstance : IModelInstance
{
    // LibTorch's intra-op thread count belongs to the calling thread (OpenMP); each worker sets it once.
    [ThreadStatic]
    private static int t_intraOpThreads;

    private readonly jit.ScriptModule _module;
    private readonly int _intraOpThreads;
    private readonly int[] _argumentOf;
    private readonly ScalarType[] _inputTypes;
    private readonly object[] _arguments;
    private readonly TorchScriptOutputs _outputs;

    public TorchScriptModelInstance(jit.ScriptModule module, TorchScriptSignature signature, int intraOpThreads)
    {
        _module = module;
        _intraOpThreads = intraOpThreads;
        _argumentOf = signature.InputOrder;
        _inputTypes = new ScalarType[_argumentOf.Length];
        for (var i = 0; i < _inputTypes.Length; i++)
        {
            _inputTypes[i] = signature.Inputs[_argumentOf[i]].ScalarType;
        }
        _arguments = new object[_argumentOf.Length];
        _outputs = new TorchScriptOutputs(signature);
    }

    public IModelOutputs Run(ReadOnlySpan<TensorData> inputs)
    {
        if (_intraOpThreads > 0 && t_intraOpThreads != _intraOpThreads)
        {
            set_num_threads(_intraOpThreads);
            t_intraOpThreads = _intraOpThreads;
        }
        try
        {
            for (var i = 0; i < inputs.Length; i++)
            {
                var tensor = empty(inputs[i].Shape, _inputTypes[i]);
                _arguments[_argumentOf[i]] = tensor;
                tensor.bytes = inputs[i].Span;
            }
            object? result;
            using (inference_mode())
            {
                result = _module.forward(_arguments);
            }
            _outputs.Attach(result);
            return _outputs;
        }
        catch (TorchScriptException ex)
        {
            throw new InferenceException(InferenceErrorKind.Internal, ex.Message, ex);
        }
        finally
        {
            for (var i = 0; i < _arguments.Length; i++)
            {
                (_arguments[i] as Tensor)?.Dispose();
                _arguments[i] = null!;
            }
        }
    }

    public void Dispose()
    {
        _outputs.Dispose();
        _module.Dispose();
    }

    /// <summary>The tensors of the last run, in the config's output order, reused across runs of this instance.</summary>
    private sealed class TorchScriptOutputs(TorchScriptSignature signature) : IModelOutputs
    {
        private readonly Tensor?[] _returned = new Tensor?[signature.Outputs.Count];
        private readonly Tensor?[] _readable = new Tensor?[signature.Outputs.Count];
        private readonly long[][] _shapes = new long[signature.Outputs.Count][];

        public void Attach(object? result)
        {
            try
            {
                TorchScriptResults.Collect(result, _returned);
                for (var o = 0; o < _readable.Length; o++)
                {
                    var position = signature.OutputOrder[o];
                    var tensor = _returned[position]!;
                    var expected = signature.Outputs[position];
                    if (tensor.dtype != expected.ScalarType)
                    {
                        throw new TorchScriptException(
                            $"output '{expected.Name}' came back as {TorchScriptTypes.NameOf(tensor.dtype)}, but the config says {expected.DataType.ToOipName()}");
                    }
                    // Views (a transpose, a slice) are laid out elsewhere; the response wants row-major bytes.
                    _readable[o] = tensor.is_contiguous() ? tensor : tensor.contiguous();
                    _shapes[o] = _readable[o]!.shape;
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public ReadOnlySpan<long> Shape(int output) => _shapes[output];

        public ReadOnlySpan<byte> Data(int output) => _readable[output]!.bytes;

        public void Dispose()
        {
            for (var o = 0; o < _readable.Length; o++)
            {
                if (_readable[o] is { } readable && !ReferenceEquals(readable, _returned[signature.OutputOrder[o]]))
                {
                    readable.Dispose();
                }
                _readable[o] = null;
            }
            for (var r = 0; r < _returned.Length; r++)
            {
                _returned[r]?.Dispose();
                _returned[r] = null;
            }
        }
    }
}

using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Tests.Engine;

/// <summary>
/// testdata/torchscript/expected.json: for each TorchScript test model, inputs and the outputs PyTorch computed from
/// them when tools/models/generate_torchscript.py wrote the model.
/// </summary>
internal static class TorchScriptCases
{
    private static readonly JsonObject Cases =
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestRepository.TorchScriptModels, "expected.json")))!.AsObject();

    public static IEnumerable<string> Models => Cases.Select(entry => entry.Key);

    public static IEnumerable<TensorCase> Inputs(string model) => Tensors(model, "inputs");

    public static IEnumerable<TensorCase> Outputs(string model) => Tensors(model, "outputs");

    private static IEnumerable<TensorCase> Tensors(string model, string side) =>
        Cases[model]![side]!.AsObject().Select(entry =>
        {
            TensorDataTypes.TryParse(entry.Value!["datatype"]!.GetValue<string>(), out var dataType);
            var shape = entry.Value["shape"]!.AsArray().Select(dim => dim!.GetValue<long>()).ToArray();
            var values = new List<JsonNode>();
            Flatten(entry.Value["data"]!, values);
            return new TensorCase(entry.Key, dataType, shape, values);
        });

    private static void Flatten(JsonNode node, List<JsonNode> into)
    {
        if (node is JsonArray array)
        {
            foreach (var item in array)
            {
                Flatten(item!, into);
            }
        }
        else
        {
            into.Add(node);
        }
    }
}

/// <summary>One tensor of a case, its values flattened row-major.</summary>
internal sealed record TensorCase(string Name, TensorDataType DataType, long[] Shape, IReadOnlyList<JsonNode> Values)
{
    public long Rows => Shape[0];

    public int RowLength => Values.Count / (int)Shape[0];

    /// <summary>The tensor as raw little-endian bytes (the form requests carry), rows [first, first + count).</summary>
    public TensorData ToTensor(int first = 0, int? count = null)
    {
        var rows = count ?? (int)Rows;
        var size = DataType.ElementSize();
        var tensor = TensorData.Rent(Name, DataType, [rows, .. Shape[1..]], rows * RowLength * size);
        var span = tensor.Span;
        for (var i = 0; i < rows * RowLength; i++)
        {
            Write(Values[(first * RowLength) + i], span.Slice(i * size, size));
        }
        return tensor;
    }

    /// <summary>Each element of <paramref name="raw"/> as a double (integers exactly up to 2^53; INT64 cases compare as longs).</summary>
    public static object[] Read(TensorDataType dataType, ReadOnlySpan<byte> raw)
    {
        var size = dataType.ElementSize();
        var values = new object[raw.Length / size];
        for (var i = 0; i < values.Length; i++)
        {
            var element = raw.Slice(i * size, size);
            values[i] = dataType switch
            {
                TensorDataType.Bool => element[0] != 0,
                TensorDataType.UInt8 => (long)element[0],
                TensorDataType.Int8 => (long)(sbyte)element[0],
                TensorDataType.Int16 => (long)BinaryPrimitives.ReadInt16LittleEndian(element),
                TensorDataType.Int32 => (long)BinaryPrimitives.ReadInt32LittleEndian(element),
                TensorDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(element),
                TensorDataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(element),
                TensorDataType.Fp32 => (double)BinaryPrimitives.ReadSingleLittleEndian(element),
                TensorDataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(element),
                _ => throw new NotSupportedException(dataType.ToString()),
            };
        }
        return values;
    }

    /// <summary>The expected values of rows [first, first + count) in the form <see cref="Read"/> gives.</summary>
    public object[] Expected(int first = 0, int? count = null)
    {
        var rows = count ?? (int)Rows;
        return Parse(DataType, Values.Skip(first * RowLength).Take(rows * RowLength).ToList());
    }

    /// <summary>JSON values (an OIP response's flat <c>data</c>) in the form <see cref="Read"/> gives.</summary>
    public static object[] Parse(TensorDataType dataType, IReadOnlyList<JsonNode?> data)
    {
        var values = new object[data.Count];
        for (var i = 0; i < values.Length; i++)
        {
            var value = data[i]!;
            values[i] = dataType switch
            {
                TensorDataType.Bool => value.GetValue<bool>(),
                TensorDataType.Fp16 or TensorDataType.Fp32 or TensorDataType.Fp64 => value.GetValue<double>(),
                _ => value.GetValue<long>(),
            };
        }
        return values;
    }

    /// <summary>The tensor as an OIP JSON request input.</summary>
    public JsonObject ToJson() => new()
    {
        ["name"] = Name,
        ["datatype"] = DataType.ToOipName(),
        ["shape"] = new JsonArray([.. Shape.Select(dim => (JsonNode)dim)]),
        ["data"] = new JsonArray([.. Values.Select(value => value.DeepClone())]),
    };

    /// <summary>
    /// Exact for integers, booleans and FP16 (whose cases are exact products); FP32 and FP64 within a few ulps,
    /// since LibTorch 2.10 and the PyTorch that wrote the cases may vectorise tanh or exp differently.
    /// </summary>
    public void AssertEqual(object[] expected, object[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (DataType is TensorDataType.Fp32 or TensorDataType.Fp64)
            {
                var (e, a) = ((double)expected[i], (double)actual[i]);
                var tolerance = (DataType == TensorDataType.Fp32 ? 4 * float.Epsilon + 4e-7 : 1e-14) * Math.Max(1, Math.Abs(e));
                Assert.True(Math.Abs(e - a) <= tolerance, $"{Name}[{i}]: expected {e:R}, got {a:R}");
            }
            else
            {
                Assert.Equal(expected[i], actual[i]);
            }
        }
    }

    private void Write(JsonNode value, Span<byte> into)
    {
        switch (DataType)
        {
            case TensorDataType.Bool: into[0] = value.GetValue<bool>() ? (byte)1 : (byte)0; break;
            case TensorDataType.UInt8: into[0] = value.GetValue<byte>(); break;
            case TensorDataType.Int8: into[0] = (byte)value.GetValue<sbyte>(); break;
            case TensorDataType.Int16: BinaryPrimitives.WriteInt16LittleEndian(into, value.GetValue<short>()); break;
            case TensorDataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(into, value.GetValue<int>()); break;
            case TensorDataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(into, value.GetValue<long>()); break;
            case TensorDataType.Fp16: BinaryPrimitives.WriteHalfLittleEndian(into, (Half)value.GetValue<double>()); break;
            case TensorDataType.Fp32: BinaryPrimitives.WriteSingleLittleEndian(into, value.GetValue<float>()); break;
            case TensorDataType.Fp64: BinaryPrimitives.WriteDoubleLittleEndian(into, value.GetValue<double>()); break;
            default: throw new NotSupportedException(DataType.ToString());
        }
    }
}

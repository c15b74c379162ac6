using System.Globalization;
using System.Text.Json;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// One tensor of a capture (<c>captures.inputs</c> / <c>outputs</c>: <c>{"datatype", "shape", "data": [flat, row-major]}</c>)
/// read as rows: the first dimension counts rows, the others make one row's <see cref="Width"/> values.
/// </summary>
internal sealed class CapturedTensor
{
    private readonly double[]? _numbers;
    private readonly string[]? _strings;

    private CapturedTensor(string datatype, int rows, int width, double[]? numbers, string[]? strings)
    {
        Datatype = datatype;
        Rows = rows;
        Width = width;
        _numbers = numbers;
        _strings = strings;
    }

    public string Datatype { get; }

    public int Rows { get; }

    public int Width { get; }

    public bool IsInteger => Datatype.StartsWith("INT", StringComparison.Ordinal) || Datatype.StartsWith("UINT", StringComparison.Ordinal) || Datatype == "BOOL";

    /// <summary>Holds numbers (not BYTES strings).</summary>
    public bool IsNumeric => _numbers is not null;

    public double Number(int row, int column) => _numbers![(row * Width) + column];

    /// <summary>The tensor, or null when the JSON is not one (a missing, redacted or malformed tensor is skipped, not fatal).</summary>
    public static CapturedTensor? Parse(string? json)
    {
        if (json is null)
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array
                || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            var datatype = root.TryGetProperty("datatype", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString()! : "FP32";
            var dims = shape.EnumerateArray().Select(dim => dim.GetInt64()).ToArray();
            var rows = dims.Length == 0 ? 1 : dims[0];
            var width = dims.Skip(1).Aggregate(1L, (product, dim) => product * dim);
            if (rows < 0 || width < 1 || rows * width != data.GetArrayLength() || rows * width > int.MaxValue)
            {
                return null;
            }
            if (datatype == "BYTES")
            {
                return new CapturedTensor(datatype, (int)rows, (int)width, null, [.. data.EnumerateArray().Select(value => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText())]);
            }
            var numbers = new double[data.GetArrayLength()];
            var i = 0;
            foreach (var value in data.EnumerateArray())
            {
                numbers[i++] = value.ValueKind switch
                {
                    JsonValueKind.Number => value.GetDouble(),
                    JsonValueKind.True => 1,
                    JsonValueKind.False => 0,
                    _ => double.NaN,
                };
            }
            return new CapturedTensor(datatype, (int)rows, (int)width, numbers, null);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// The class predicted in <paramref name="row"/>: an integer output's value, the argmax of a score vector (a row of
    /// several numbers), a whole number written as a float, or a BYTES label as it is.
    /// </summary>
    public string PredictedClass(int row)
    {
        if (_strings is not null)
        {
            return _strings[row * Width];
        }
        if (Width > 1 && !IsInteger)
        {
            var best = 0;
            for (var column = 1; column < Width; column++)
            {
                if (Number(row, column) > Number(row, best))
                {
                    best = column;
                }
            }
            return PredictionBaseline.ClassKey(best);
        }
        var value = Number(row, 0);
        return value == Math.Floor(value) && Math.Abs(value) < 1e15
            ? PredictionBaseline.ClassKey((long)value)
            : value.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A regression output's value in <paramref name="row"/> (its first column); NaN for strings.</summary>
    public double PredictedValue(int row) => _numbers is null ? double.NaN : Number(row, 0);
}

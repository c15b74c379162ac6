using System.Text.Json;

namespace Hyperion.Gateway.Shadowing;

/// <summary>
/// Compares the first output of two JSON answers (OIP <c>outputs[0].data</c>, or V1 <c>predictions</c>): the same
/// top class (argmax over the flattened values) and the largest absolute difference.
/// </summary>
internal static class OutputComparer
{
    public static bool TryCompare(ReadOnlySpan<byte> stable, ReadOnlySpan<byte> shadow, out bool sameArgmax, out double maxAbsDiff)
    {
        sameArgmax = false;
        maxAbsDiff = 0;
        var left = FirstOutput(stable);
        var right = FirstOutput(shadow);
        if (left is null || right is null || left.Count != right.Count || left.Count == 0)
        {
            return false;
        }
        var leftArgmax = 0;
        var rightArgmax = 0;
        for (var i = 0; i < left.Count; i++)
        {
            maxAbsDiff = Math.Max(maxAbsDiff, Math.Abs(left[i] - right[i]));
            if (left[i] > left[leftArgmax])
            {
                leftArgmax = i;
            }
            if (right[i] > right[rightArgmax])
            {
                rightArgmax = i;
            }
        }
        sameArgmax = leftArgmax == rightArgmax;
        return true;
    }

    private static List<double>? FirstOutput(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            JsonElement data;
            if (root.TryGetProperty("outputs", out var outputs) && outputs.ValueKind == JsonValueKind.Array && outputs.GetArrayLength() > 0
                && outputs[0].TryGetProperty("data", out var outputData))
            {
                data = outputData;
            }
            else if (root.TryGetProperty("predictions", out var predictions))
            {
                data = predictions;
            }
            else
            {
                return null;
            }
            var values = new List<double>();
            Flatten(data, values);
            return values;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void Flatten(JsonElement element, List<double> values)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, values);
                }
                break;
            case JsonValueKind.Number:
                values.Add(element.GetDouble());
                break;
            case JsonValueKind.True or JsonValueKind.False:
                values.Add(element.GetBoolean() ? 1 : 0);
                break;
        }
    }
}

using System.Text.Json.Nodes;
using Hyperion.Contracts.Models;

namespace Hyperion.Orchestrator.Registry.Validation;

/// <summary>
/// The <c>baseline_profile</c> part: per-feature histograms of the training inputs, which drift detection later
/// compares live traffic against (so traffic must be binned the same way). Shape, as the digits sample's
/// generator writes it:
/// <code>
/// {
///   "input": "pixels",                         // the model input the features come from
///   "rows": 1347,                              // training rows profiled (≥ 1)
///   "bins": {"count": 10, "edges": [0, 1.6, ..., 16]},   // shared bin edges: count + 1 increasing numbers
///   "features": [                              // at least one
///     {"name": "pixel_0", "index": 0,          // unique name; unique position within one row of the input (≥ 0)
///      "counts": [1347, 0, ...],               // one count ≥ 0 per bin, summing to at most rows
///      "edges": [...],                         // optional: this feature's own edges instead of bins.edges
///      "mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}   // optional numbers
///   ]
/// }
/// </code>
/// Other fields are kept as they are.
/// </summary>
internal static class BaselineProfileCheck
{
    /// <summary>Shape errors, by field (empty when the shape is right).</summary>
    public static Dictionary<string, string[]> CheckShape(JsonObject profile)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Error(string field, string message) => errors[$"baseline_profile.{field}"] = [message];

        if (!TryString(profile["input"], out _))
        {
            Error("input", "must name the model input the features come from (a string)");
        }
        var rows = TryInteger(profile["rows"], out var r) && r >= 1 ? r : (long?)null;
        if (rows is null)
        {
            Error("rows", "must be the number of training rows profiled (an integer ≥ 1)");
        }

        double[]? sharedEdges = null;
        if (profile["bins"] is JsonObject bins)
        {
            if (!TryEdges(bins["edges"], out sharedEdges))
            {
                Error("bins.edges", "must be at least 2 increasing numbers");
            }
            else if (bins["count"] is { } count && (!TryInteger(count, out var c) || c != sharedEdges.Length - 1))
            {
                Error("bins.count", $"must equal the number of bins that bins.edges makes ({sharedEdges.Length - 1})");
            }
        }
        else if (profile["bins"] is not null)
        {
            Error("bins", "must be an object {\"count\": n, \"edges\": [n + 1 increasing numbers]}");
        }

        if (profile["features"] is not JsonArray { Count: > 0 } features)
        {
            Error("features", "must be a non-empty array of {\"name\", \"index\", \"counts\"} objects");
            return errors;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        var indexes = new HashSet<long>();
        for (var i = 0; i < features.Count; i++)
        {
            var at = $"features[{i}]";
            if (features[i] is not JsonObject feature)
            {
                Error(at, "must be an object {\"name\", \"index\", \"counts\"}");
                continue;
            }
            if (!TryString(feature["name"], out var name) || name.Length == 0)
            {
                Error($"{at}.name", "must be a non-empty string");
            }
            else if (!names.Add(name))
            {
                Error($"{at}.name", $"'{name}' names another feature too; names must be unique");
            }
            if (!TryInteger(feature["index"], out var index) || index < 0)
            {
                Error($"{at}.index", "must be the feature's position within one row of the input (an integer ≥ 0)");
            }
            else if (!indexes.Add(index))
            {
                Error($"{at}.index", $"{index} is another feature's index too; indexes must be unique");
            }
            var edges = sharedEdges;
            if (feature["edges"] is { } ownEdges && !TryEdges(ownEdges, out edges))
            {
                Error($"{at}.edges", "must be at least 2 increasing numbers");
                continue;
            }
            if (edges is null)
            {
                Error($"{at}.edges", "is needed when the profile has no bins.edges");
                continue;
            }
            if (feature["counts"] is not JsonArray counts || counts.Count != edges.Length - 1)
            {
                Error($"{at}.counts", $"must be an array of {edges.Length - 1} counts, one per bin");
                continue;
            }
            long total = 0;
            foreach (var count in counts)
            {
                if (!TryInteger(count, out var value) || value < 0)
                {
                    Error($"{at}.counts", "must hold integers ≥ 0");
                    total = -1;
                    break;
                }
                total += value;
            }
            if (rows is { } rowCount && total > rowCount)
            {
                Error($"{at}.counts", $"sum to {total}, more than rows ({rowCount})");
            }
            foreach (var statistic in (ReadOnlySpan<string>)["mean", "std", "min", "max"])
            {
                if (feature[statistic] is { } value && !TryNumber(value, out _))
                {
                    Error($"{at}.{statistic}", "must be a number when given");
                }
            }
        }
        return errors;
    }

    /// <summary>Whether the profile fits the model (its input exists, its indexes lie within a row); null when it does.</summary>
    public static string? CheckAgainst(JsonObject profile, ModelConfig config)
    {
        var inputName = profile["input"]!.GetValue<string>();
        var input = config.Input.FirstOrDefault(tensor => string.Equals(tensor.Name, inputName, StringComparison.Ordinal));
        if (input is null)
        {
            return $"baseline_profile.input '{inputName}' is not an input of the model; its inputs are {string.Join(", ", config.Input.Select(t => t.Name))}";
        }
        // Config dims exclude the batch dimension when the model batches; without one, the first dim counts rows.
        var rowDims = config.MaxBatchSize > 0 ? input.Dims : input.Dims.Skip(1).ToArray();
        if (rowDims.Any(dim => dim < 0))
        {
            return null;
        }
        var width = rowDims.Aggregate(1L, (product, dim) => product * dim);
        foreach (var feature in profile["features"]!.AsArray())
        {
            var index = feature!["index"]!.GetValue<long>();
            if (index >= width)
            {
                return $"baseline_profile feature '{feature["name"]}' has index {index}, but a row of input '{inputName}' has {width} values";
            }
        }
        return null;
    }

    private static bool TryString(JsonNode? node, out string value)
    {
        if (node is JsonValue json && json.TryGetValue(out string? text))
        {
            value = text;
            return true;
        }
        value = "";
        return false;
    }

    private static bool TryNumber(JsonNode? node, out double value)
    {
        value = 0;
        return node is JsonValue json && json.GetValueKind() == System.Text.Json.JsonValueKind.Number && json.TryGetValue(out value) && double.IsFinite(value);
    }

    private static bool TryInteger(JsonNode? node, out long value)
    {
        value = 0;
        return node is JsonValue json && json.GetValueKind() == System.Text.Json.JsonValueKind.Number && json.TryGetValue(out value);
    }

    private static bool TryEdges(JsonNode? node, out double[] edges)
    {
        edges = [];
        if (node is not JsonArray { Count: >= 2 } array)
        {
            return false;
        }
        var values = new double[array.Count];
        for (var i = 0; i < values.Length; i++)
        {
            if (!TryNumber(array[i], out values[i]) || (i > 0 && values[i] <= values[i - 1]))
            {
                return false;
            }
        }
        edges = values;
        return true;
    }
}

using System.Globalization;
using System.Text.Json.Nodes;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// A version's <c>baseline_profile</c> as drift reads it (its shape was checked at registration:
/// <see cref="Registry.Validation.BaselineProfileCheck"/>): per-feature bin edges and training counts, and
/// optionally a baseline of the training predictions, <see cref="PredictionBaseline"/>.
/// </summary>
internal sealed record BaselineProfile(string Input, IReadOnlyList<BaselineFeature> Features, PredictionBaseline? Predictions)
{
    public static BaselineProfile Parse(JsonNode profile)
    {
        var sharedEdges = profile["bins"]?["edges"] is JsonArray shared ? Numbers(shared) : null;
        var features = new List<BaselineFeature>();
        foreach (var node in profile["features"]!.AsArray())
        {
            var feature = node!.AsObject();
            features.Add(new BaselineFeature(
                Name: feature["name"]!.GetValue<string>(),
                Index: feature["index"]!.GetValue<long>(),
                Edges: feature["edges"] is JsonArray own ? Numbers(own) : sharedEdges!,
                Counts: [.. feature["counts"]!.AsArray().Select(count => count!.GetValue<long>())]));
        }
        return new BaselineProfile(profile["input"]!.GetValue<string>(), features, PredictionBaseline.Parse(profile["predictions"]));
    }

    private static double[] Numbers(JsonArray array) => [.. array.Select(value => value!.GetValue<double>())];
}

/// <param name="Index">The feature's position within one row of the input (row-major, batch dimension left out).</param>
internal sealed record BaselineFeature(string Name, long Index, double[] Edges, long[] Counts);

/// <summary>
/// The training predictions, when the profile carries them under <c>"predictions"</c>, which prediction drift then
/// compares with instead of the version's earliest captures. Either classes with their counts
/// (<c>{"classes": {"0": 132, "1": 137, ...}}</c>, keys as the predicted class is written: an integer in decimal or a
/// string label) or a histogram of a regression output (<c>{"edges": [...], "counts": [...]}</c>). Anything else
/// there is ignored, and the earliest captures are used.
/// </summary>
internal sealed record PredictionBaseline(IReadOnlyDictionary<string, long>? Classes, double[]? Edges, long[]? Counts)
{
    public static PredictionBaseline? Parse(JsonNode? node)
    {
        if (node is not JsonObject predictions)
        {
            return null;
        }
        try
        {
            if (predictions["classes"] is JsonObject classes && classes.Count > 0)
            {
                return new PredictionBaseline(classes.ToDictionary(c => c.Key, c => c.Value!.GetValue<long>(), StringComparer.Ordinal), null, null);
            }
            if (predictions["edges"] is JsonArray { Count: >= 2 } edges && predictions["counts"] is JsonArray counts && counts.Count == edges.Count - 1)
            {
                return new PredictionBaseline(null, [.. edges.Select(e => e!.GetValue<double>())], [.. counts.Select(c => c!.GetValue<long>())]);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            // A value of the wrong kind: as if there were no baseline of predictions.
        }
        return null;
    }

    public static string ClassKey(long value) => value.ToString(CultureInfo.InvariantCulture);
}

using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hyperion.Orchestrator.Registry.Validation;

/// <summary>
/// The <c>lineage</c> part: where a version comes from. Any JSON object is kept as given; the fields below are
/// the ones tools read, so when present they must have the type shown:
/// <c>git_commit</c>, <c>dataset_uri</c>, <c>dataset_version</c>, <c>created_by</c> (strings);
/// <c>dataset</c> (object, e.g. {"uri", "version"}); <c>parameters</c> or <c>training_parameters</c> (object);
/// <c>metrics</c> or <c>evaluation_metrics</c> (object of numbers, e.g. {"test_accuracy": 0.97}).
/// </summary>
internal static class LineageCheck
{
    private static readonly string[] Strings = ["git_commit", "dataset_uri", "dataset_version", "created_by"];
    private static readonly string[] Objects = ["dataset", "parameters", "training_parameters"];
    private static readonly string[] Metrics = ["metrics", "evaluation_metrics"];

    public static Dictionary<string, string[]> Check(JsonObject lineage)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var field in Strings)
        {
            if (lineage[field] is { } value && value.GetValueKind() != JsonValueKind.String)
            {
                errors[$"lineage.{field}"] = ["must be a string"];
            }
        }
        foreach (var field in Objects)
        {
            if (lineage[field] is { } value && value is not JsonObject)
            {
                errors[$"lineage.{field}"] = ["must be an object"];
            }
        }
        foreach (var field in Metrics)
        {
            if (lineage[field] is not { } value)
            {
                continue;
            }
            if (value is not JsonObject metrics)
            {
                errors[$"lineage.{field}"] = ["must be an object of metric name → number"];
                continue;
            }
            foreach (var (name, metric) in metrics)
            {
                if (metric is null || metric.GetValueKind() != JsonValueKind.Number)
                {
                    errors[$"lineage.{field}.{name}"] = ["must be a number"];
                }
            }
        }
        return errors;
    }
}

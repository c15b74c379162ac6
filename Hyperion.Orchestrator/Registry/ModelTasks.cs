namespace Hyperion.Orchestrator.Registry;

/// <summary>What a model does, for listing and filtering (<c>?task=</c>); <c>other</c> for anything else.</summary>
internal static class ModelTasks
{
    public static readonly IReadOnlyList<string> All =
    [
        "classification", "regression", "ranking", "forecasting", "detection", "segmentation", "embedding", "generation", "other",
    ];

    public static string Expected { get; } = string.Join(", ", All);

    public static bool IsKnown(string task) => All.Contains(task, StringComparer.Ordinal);
}

using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Quality;

namespace Hyperion.Tests.Quality;

/// <summary>The accuracy a version was registered with, which the schedule judges degradation against, read from lineage as people write it.</summary>
public sealed class RegisteredAccuracyTests
{
    [Theory]
    [InlineData("""{"evaluation_metrics": {"test_accuracy": 0.97, "train_accuracy": 0.99}}""", 0.97)]
    [InlineData("""{"evaluation_metrics": {"accuracy": 0.95}}""", 0.95)]
    [InlineData("""{"metrics": {"test": {"accuracy": 0.93, "loss": 0.2}, "train": {"accuracy": 0.99}}}""", 0.93)]
    [InlineData("""{"metrics": [{"key": "accuracy", "value": 0.90, "step": 1}, {"key": "accuracy", "value": 0.92, "step": 2}]}""", 0.92)]
    public void Is_the_test_accuracy_of_the_lineage_metrics_in_any_form_the_registry_reads(string lineage, double expected)
    {
        Assert.Equal(expected, Version(lineage).RegisteredAccuracy);
    }

    [Theory]
    [InlineData("""{"git_commit": "abc123", "dataset": "sklearn-digits"}""")]
    [InlineData("""{"metrics": {"train": {"accuracy": 0.99}}}""")]
    public void Is_absent_without_an_accuracy_that_is_not_a_training_one(string lineage)
    {
        Assert.Null(Version(lineage).RegisteredAccuracy);
    }

    private static MonitoredVersion Version(string lineage) =>
        new("digits", 1, "classification", Profile: null, FirstOutput: "label", JsonNode.Parse(lineage));
}

using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Registry.Lineage;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Lineage as people write it (by hand, from MLflow, from DVC) is read into one view; only what the registry shows is type-checked.</summary>
public sealed class LineageReaderTests
{
    private static (NormalizedLineage View, Dictionary<string, string[]> Errors) Read(string json)
    {
        var view = LineageReader.Read(JsonNode.Parse(json)!.AsObject(), out var errors);
        return (view, errors);
    }

    [Fact]
    public void The_lineage_from_the_issue_is_read_with_the_dataset_as_a_name_and_its_version()
    {
        var (view, errors) = Read("""{"git_commit": "abc123", "dataset": "sklearn-digits", "dataset_version": "1"}""");
        Assert.Empty(errors);
        Assert.Equal("abc123", view.GitCommit);
        Assert.Equal(new DatasetReference("sklearn-digits", null, "1", null), Assert.Single(view.Datasets));
        Assert.Empty(view.Unread);
    }

    [Theory]
    [InlineData("s3://bucket/digits.csv")]
    [InlineData("sklearn://datasets/load_digits")]
    [InlineData("/data/digits.csv")]
    [InlineData("./data/digits.csv")]
    public void A_dataset_that_is_a_uri_or_path_is_read_as_its_uri(string dataset)
    {
        var (view, errors) = Read($$"""{"dataset": "{{dataset}}", "dataset_version": 3}""");
        Assert.Empty(errors);
        Assert.Equal(new DatasetReference(null, dataset, "3", null), Assert.Single(view.Datasets));
    }

    [Fact]
    public void A_dataset_object_and_a_list_of_datasets_are_read_with_their_own_names_for_each_field()
    {
        var (view, errors) = Read("""
            {"dataset": {"uri": "sklearn://datasets/load_digits", "version": "scikit-learn 1.2.1", "rows": 1797},
             "datasets": ["ylecun/mnist", {"path": "data/extra.csv", "md5": "d41d8cd98f00b204e9800998ecf8427e"}],
             "dataset_name": "digits"}
            """);
        Assert.Empty(errors);
        Assert.Equal(
            [
                new DatasetReference("digits", "sklearn://datasets/load_digits", "scikit-learn 1.2.1", null),
                new DatasetReference("ylecun/mnist", null, null, null),
                new DatasetReference(null, "data/extra.csv", null, "md5:d41d8cd98f00b204e9800998ecf8427e"),
            ],
            view.Datasets);
    }

    [Fact]
    public void The_digits_sample_lineage_reads_its_commit_dataset_parameters_metrics_and_author()
    {
        var (view, errors) = Read(RegistryTestData.Lineage);
        Assert.Empty(errors);
        Assert.Equal("b09ce7bf0a6ce86de41737ff98c65841be747f0c", view.GitCommit);
        Assert.Equal("sklearn://datasets/load_digits", Assert.Single(view.Datasets).Uri);
        Assert.Equal(0.1, view.Parameters!["C"]!.GetValue<double>());
        Assert.Equal(0.971111, view.Metrics["test_accuracy"]);
        Assert.Equal("tools/models/generate_models.py", view.CreatedBy);
    }

    [Fact]
    public void An_mlflow_run_is_read_from_its_key_value_lists_tags_and_model_uri()
    {
        var (view, errors) = Read("""
            {"run_id": "runs:/4f2a9c/model",
             "params": [{"key": "C", "value": "0.1"}, {"key": "solver", "value": "lbfgs"}],
             "metrics": [{"key": "accuracy", "value": 0.95, "step": 1}, {"key": "accuracy", "value": 0.97, "step": 2}],
             "tags": [{"key": "mlflow.source.git.commit", "value": "deadbeef"}, {"key": "mlflow.user", "value": "ana"},
                      {"key": "mlflow.source.git.repoURL", "value": "https://github.com/acme/digits"}],
             "parent": "models:/digits-base/4"}
            """);
        Assert.Empty(errors);
        Assert.Equal("4f2a9c", view.SourceRun);
        Assert.Equal("0.1", view.Parameters!["C"]!.GetValue<string>());
        Assert.Equal("lbfgs", view.Parameters!["solver"]!.GetValue<string>());
        Assert.Equal(0.97, view.Metrics["accuracy"]);
        Assert.Equal("deadbeef", view.GitCommit);
        Assert.Equal("https://github.com/acme/digits", view.Repository);
        Assert.Equal("ana", view.CreatedBy);
        Assert.Equal(new ParentReference("digits-base", 4), view.Parent);
    }

    [Fact]
    public void Dvc_style_nested_metrics_are_flattened_and_series_numeric_strings_and_nulls_are_read()
    {
        var (view, errors) = Read("""
            {"metrics": {"train": {"loss": 0.1, "acc": "0.99"}, "test": {"acc": 0.9}, "loss_curve": [0.9, 0.5, 0.2], "skipped": null},
             "evaluation_metrics": {"test.acc": 0.1, "f1": 0.8}}
            """);
        Assert.Empty(errors);
        Assert.Equal(
            new Dictionary<string, double> { ["train.loss"] = 0.1, ["train.acc"] = 0.99, ["test.acc"] = 0.9, ["loss_curve"] = 0.2, ["f1"] = 0.8 },
            view.Metrics);
    }

    [Fact]
    public void A_parent_version_of_the_same_model_and_a_git_object_are_read()
    {
        var (view, errors) = Read("""{"parent_version": "2", "git": {"sha": "cafe", "url": "git@example.com:acme/digits.git", "branch": "main"}}""");
        Assert.Empty(errors);
        Assert.Equal(new ParentReference(null, 2), view.Parent);
        Assert.Equal("cafe", view.GitCommit);
        Assert.Equal("git@example.com:acme/digits.git", view.Repository);
        Assert.Equal("main", view.Branch);
    }

    [Fact]
    public void Fields_the_registry_does_not_depend_on_are_noted_as_unread_never_refused()
    {
        var (view, errors) = Read("""{"parameters": "see params.yaml", "run_id": 17, "author": {"name": "ana"}, "framework": {"onnx": "1.12.0"}}""");
        Assert.Empty(errors);
        Assert.Null(view.Parameters);
        Assert.Null(view.SourceRun);
        Assert.Equal(3, view.Unread.Count);
        Assert.Contains(view.Unread, note => note.StartsWith("parameters: expected an object of parameter name", StringComparison.Ordinal));
        Assert.Contains(view.Unread, note => note.StartsWith("run_id: expected a run id", StringComparison.Ordinal));
        Assert.Contains(view.Unread, note => note.StartsWith("author: expected a string", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"git_commit": 42}""", "lineage.git_commit", "must be a string")]
    [InlineData("""{"dataset": 7}""", "lineage.dataset", "must be a name, a URI or an object")]
    [InlineData("""{"dataset": ["digits", true]}""", "lineage.dataset[1]", "must be a name, a URI or an object")]
    [InlineData("""{"dataset_version": {"major": 1}}""", "lineage.dataset_version", "must be a string or a number")]
    [InlineData("""{"dataset_uri": 5}""", "lineage.dataset_uri", "must be a string")]
    [InlineData("""{"metrics": "metrics.json"}""", "lineage.metrics", "must be an object of metric name → number")]
    [InlineData("""{"evaluation_metrics": {"accuracy": "high"}}""", "lineage.evaluation_metrics.accuracy", "must be a number")]
    [InlineData("""{"metrics": {"test": {"acc": true}}}""", "lineage.metrics.test.acc", "must be a number")]
    [InlineData("""{"metrics": {"curve": [0.1, "x"]}}""", "lineage.metrics.curve", "must be a number, or a list of numbers")]
    public void A_wrong_type_in_a_field_the_registry_shows_is_an_error_naming_it_and_what_was_expected(string json, string field, string expected)
    {
        var (_, errors) = Read(json);
        Assert.StartsWith(expected, Assert.Single(errors[field]), StringComparison.Ordinal);
    }

    [Fact]
    public void A_metric_logged_as_nan_is_noted_not_shown()
    {
        var (view, errors) = Read("""{"metrics": {"loss": "NaN", "acc": 0.5}}""");
        Assert.Empty(errors);
        Assert.Equal(new Dictionary<string, double> { ["acc"] = 0.5 }, view.Metrics);
        Assert.StartsWith("metrics.loss: expected a finite number", Assert.Single(view.Unread), StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_lineage_reads_as_an_empty_view()
    {
        var view = LineageReader.Read([]);
        Assert.Null(view.GitCommit);
        Assert.Empty(view.Datasets);
        Assert.Empty(view.Metrics);
        Assert.Null(view.Parent);
        Assert.Empty(view.Unread);
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hyperion.Orchestrator.Registry.Lineage;

/// <summary>
/// Reads a version's lineage the way people write it: by hand (<c>{"git_commit": "abc123", "dataset":
/// "sklearn-digits", "dataset_version": "1"}</c>), from an MLflow run (<c>params</c>, <c>metrics</c>, <c>tags</c> such
/// as <c>mlflow.source.git.commit</c>, also as lists of <c>{"key", "value"}</c>), or from DVC (<c>params</c> and
/// <c>metrics</c> nested by file or split). The lineage itself is always kept as given; this is the view beside it.
/// </summary>
/// <remarks>
/// Only the fields the registry shows and uses are checked (<see cref="Read(JsonObject, out Dictionary{string, string[]})"/>
/// reports them): <c>git_commit</c> must be a string, <c>dataset</c> a name, URI, object or list of them,
/// <c>dataset_name</c>/<c>dataset_uri</c> strings, <c>dataset_version</c> a string or number, metrics numbers. Any other
/// field the reader knows but cannot read is listed under <see cref="NormalizedLineage.Unread"/> and refused nothing.
/// </remarks>
internal static class LineageReader
{
    private const string MetricsExpected = "must be an object of metric name → number";
    private const string DatasetExpected = "must be a name, a URI or an object such as {\"name\": \"sklearn-digits\", \"uri\": \"s3://bucket/digits.csv\", \"version\": \"1\"}";

    private static readonly string[] CommitAliases = ["commit", "git_sha", "git_hash", "git_revision", "mlflow.source.git.commit"];
    private static readonly string[] RepositoryFields = ["git_repo", "git_repository", "git_url", "repository", "repo", "mlflow.source.git.repoURL"];
    private static readonly string[] BranchFields = ["git_branch", "branch", "mlflow.source.git.branch"];
    private static readonly string[] ParameterFields = ["parameters", "params", "training_parameters", "hyperparameters", "hyper_parameters"];
    private static readonly string[] MetricFields = ["metrics", "evaluation_metrics", "eval_metrics"];
    private static readonly string[] RunFields = ["source_run", "source_run_id", "run_id", "mlflow_run_id", "run"];
    private static readonly string[] CreatorFields = ["created_by", "author", "trained_by", "user", "mlflow.user"];
    private static readonly string[] ParentFields = ["parent", "parent_version", "parent_model", "base_model", "fine_tuned_from", "derived_from"];

    /// <summary>The view of a stored lineage (mistakes were refused when it was uploaded; any left are skipped).</summary>
    public static NormalizedLineage Read(JsonObject lineage) => new Reading(lineage).Read();

    /// <summary>The view, and the fields the registry depends on that have the wrong type (path → what was expected).</summary>
    public static NormalizedLineage Read(JsonObject lineage, out Dictionary<string, string[]> errors)
    {
        var reading = new Reading(lineage);
        var view = reading.Read();
        errors = reading.Errors;
        return view;
    }

    private sealed class Reading(JsonObject lineage)
    {
        private readonly List<string> _unread = [];
        private readonly Dictionary<string, string> _tags = ReadTags(lineage["tags"]);

        public Dictionary<string, string[]> Errors { get; } = new(StringComparer.Ordinal);

        public NormalizedLineage Read()
        {
            var git = lineage["git"] as JsonObject;
            return new NormalizedLineage(
                GitCommit: ReadCommit(git),
                Repository: FirstString(RepositoryFields) ?? StringIn(git, "url", "repo", "repository", "remote"),
                Branch: FirstString(BranchFields) ?? StringIn(git, "branch"),
                Datasets: ReadDatasets(),
                Parameters: ReadParameters(),
                Metrics: ReadMetrics(),
                Parent: ReadParent(),
                SourceRun: ReadRun(),
                CreatedBy: FirstString(CreatorFields),
                Unread: _unread);
        }

        private string? ReadCommit(JsonObject? git)
        {
            if (lineage["git_commit"] is { } commit)
            {
                if (Text(commit) is { } text)
                {
                    return text;
                }
                Error("lineage.git_commit", "must be a string");
            }
            return FirstString(CommitAliases) ?? StringIn(git, "commit", "sha", "hash");
        }

        private List<DatasetReference> ReadDatasets()
        {
            var datasets = new List<DatasetReference>();
            if (lineage["dataset"] is { } dataset)
            {
                AddDatasets(dataset, "lineage.dataset", datasets, strict: true);
            }
            if (lineage["datasets"] is { } more)
            {
                AddDatasets(more, "lineage.datasets", datasets, strict: false);
            }

            var name = StrictString("dataset_name");
            var uri = StrictString("dataset_uri") ?? FirstString(["dataset_url", "dataset_path"]);
            string? version = null;
            if (lineage["dataset_version"] is { } given)
            {
                version = Scalar(given);
                if (version is null)
                {
                    Error("lineage.dataset_version", "must be a string or a number");
                }
            }
            var digest = FirstString(["dataset_digest", "dataset_hash", "dataset_md5"]);
            if ((name ?? uri ?? version ?? digest) is null)
            {
                return datasets;
            }
            // The flat fields describe the first dataset, filling in what its own entry leaves out.
            var first = datasets.Count > 0 ? datasets[0] : new DatasetReference(null, null, null, null);
            var merged = new DatasetReference(first.Name ?? name, first.Uri ?? uri, first.Version ?? version, first.Digest ?? digest);
            if (datasets.Count > 0)
            {
                datasets[0] = merged;
            }
            else
            {
                datasets.Add(merged);
            }
            return datasets;
        }

        private void AddDatasets(JsonNode node, string path, List<DatasetReference> datasets, bool strict)
        {
            if (node is JsonArray items)
            {
                for (var i = 0; i < items.Count; i++)
                {
                    if (items[i] is { } item && Dataset(item, $"{path}[{i}]") is { } one)
                    {
                        datasets.Add(one);
                    }
                    else if (strict)
                    {
                        Error($"{path}[{i}]", DatasetExpected);
                    }
                    else
                    {
                        Unread($"{path}[{i}]", "a dataset name, URI or object");
                    }
                }
            }
            else if (Dataset(node, path) is { } one)
            {
                datasets.Add(one);
            }
            else if (strict)
            {
                Error(path, DatasetExpected + ", or a list of them");
            }
            else
            {
                Unread(path, "a list of dataset names, URIs or objects");
            }
        }

        private DatasetReference? Dataset(JsonNode node, string path)
        {
            if (Text(node) is { } text)
            {
                return LooksLikeUri(text) ? new DatasetReference(null, text, null, null) : new DatasetReference(text, null, null, null);
            }
            if (node is not JsonObject fields)
            {
                return null;
            }
            string? version = null;
            foreach (var field in (ReadOnlySpan<string>)["version", "dataset_version", "revision", "rev"])
            {
                if (fields[field] is { } value && (version = Scalar(value)) is null)
                {
                    Unread($"{path}.{field}", "a string or a number");
                }
                if (version is not null)
                {
                    break;
                }
            }
            var digest = StringIn(fields, "digest", "hash", "checksum")
                ?? Prefixed("md5", StringIn(fields, "md5"))
                ?? Prefixed("sha256", StringIn(fields, "sha256"));
            return new DatasetReference(
                Name: StringIn(fields, "name", "id", "title"),
                Uri: StringIn(fields, "uri", "url", "path", "source", "location"),
                Version: version,
                Digest: digest);
        }

        private JsonObject? ReadParameters()
        {
            JsonObject? parameters = null;
            foreach (var field in ParameterFields)
            {
                if (lineage[field] is not { } value)
                {
                    continue;
                }
                if (value is JsonObject fields)
                {
                    foreach (var (name, parameter) in fields)
                    {
                        parameters ??= [];
                        parameters.TryAdd(name, parameter?.DeepClone());
                    }
                }
                else if (KeyValues(value) is { } pairs)
                {
                    foreach (var (name, parameter) in pairs)
                    {
                        parameters ??= [];
                        parameters.TryAdd(name, parameter?.DeepClone());
                    }
                }
                else
                {
                    Unread(field, "an object of parameter name → value, or a list of {\"key\", \"value\"}");
                }
            }
            return parameters;
        }

        private Dictionary<string, double> ReadMetrics()
        {
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var field in MetricFields)
            {
                if (lineage[field] is not { } value)
                {
                    continue;
                }
                var path = $"lineage.{field}";
                if (value is JsonObject fields)
                {
                    Flatten(fields, "", path, metrics);
                }
                else if (value is JsonArray items && KeyValues(items) is { } pairs)
                {
                    // MLflow lists a run's metrics as {"key", "value", "step", "timestamp"}: the last entry of a key is its latest value.
                    foreach (var (name, metric) in pairs)
                    {
                        if (Metric(metric, $"{path}.{name}") is { } number)
                        {
                            metrics[name] = number;
                        }
                    }
                }
                else
                {
                    Error(path, $"{MetricsExpected} (nested objects are read as test.accuracy), or a list of {{\"key\", \"value\"}} as MLflow writes it");
                }
            }
            return metrics;
        }

        private void Flatten(JsonObject fields, string prefix, string path, Dictionary<string, double> metrics)
        {
            foreach (var (name, value) in fields)
            {
                if (value is null)
                {
                    continue;
                }
                if (value is JsonObject nested)
                {
                    Flatten(nested, $"{prefix}{name}.", $"{path}.{name}", metrics);
                }
                else if (Metric(value, $"{path}.{name}") is { } number)
                {
                    metrics.TryAdd(prefix + name, number);
                }
            }
        }

        /// <summary>A number, a number in a string, or a series of numbers (its last is the final value).</summary>
        private double? Metric(JsonNode? value, string path)
        {
            if (value is JsonArray series)
            {
                if (series.Count > 0 && series.All(IsNumber))
                {
                    return series[^1]!.GetValue<double>();
                }
                Error(path, "must be a number, or a list of numbers whose last is read");
                return null;
            }
            if (IsNumber(value))
            {
                return value!.GetValue<double>();
            }
            if (Text(value) is { } text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
            {
                if (double.IsFinite(parsed))
                {
                    return parsed;
                }
                // "NaN" as MLflow may log it: not an error, but no number to show (JSON has none for it).
                Unread(path["lineage.".Length..], "a finite number");
                return null;
            }
            Error(path, "must be a number");
            return null;
        }

        private static bool IsNumber(JsonNode? node) => node is JsonValue value && value.GetValueKind() == JsonValueKind.Number;

        private ParentReference? ReadParent()
        {
            string? model = null;
            long? version = null;
            foreach (var field in ParentFields)
            {
                if (lineage[field] is not { } value)
                {
                    continue;
                }
                var (m, v) = field switch
                {
                    "parent_version" => (null, VersionNumber(value)),
                    "parent_model" => (Text(value), null),
                    _ => Parent(value),
                };
                if (m is null && v is null)
                {
                    Unread(field, field == "parent_version" ? "a version number" : "a model name, \"models:/<name>/<version>\", a version number or {\"model\", \"version\"}");
                }
                model ??= m;
                version ??= v;
            }
            return model is null && version is null ? null : new ParentReference(model, version);
        }

        private static (string? Model, long? Version) Parent(JsonNode value)
        {
            if (value is JsonObject fields)
            {
                return (StringIn(fields, "model", "name"), fields["version"] is { } v ? VersionNumber(v) : null);
            }
            if (VersionNumber(value) is { } number)
            {
                return (null, number);
            }
            if (Text(value) is not { } text)
            {
                return (null, null);
            }
            // MLflow's model URI: models:/<name>/<version> (or a stage or alias in place of the version).
            if (text.StartsWith("models:/", StringComparison.Ordinal) && text["models:/".Length..].Split('/') is [var name, var rest, ..])
            {
                return (name, long.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null);
            }
            return (text, null);
        }

        private string? ReadRun()
        {
            foreach (var field in RunFields)
            {
                switch (lineage[field])
                {
                    case null:
                        continue;
                    case JsonObject run when (StringIn(run, "id", "run_id") ?? StringIn(run["info"] as JsonObject, "run_id")) is { } id:
                        return id;
                    case var value when Text(value) is { } text:
                        // runs:/<run id>/<path>, as MLflow names a run's artifacts.
                        return text.StartsWith("runs:/", StringComparison.Ordinal) ? text["runs:/".Length..].Split('/')[0] : text;
                    default:
                        Unread(field, "a run id, \"runs:/<id>/...\" or {\"id\"}");
                        break;
                }
            }
            return null;
        }

        private string? FirstString(IEnumerable<string> fields)
        {
            foreach (var field in fields)
            {
                if (lineage[field] is { } value)
                {
                    if (Text(value) is { } text)
                    {
                        return text;
                    }
                    Unread(field, "a string");
                }
                else if (_tags.TryGetValue(field, out var tagged))
                {
                    return tagged;
                }
            }
            return null;
        }

        private string? StrictString(string field)
        {
            if (lineage[field] is not { } value)
            {
                return null;
            }
            if (Text(value) is { } text)
            {
                return text;
            }
            Error($"lineage.{field}", "must be a string");
            return null;
        }

        private void Error(string path, string message) => Errors[path] = [message];

        private void Unread(string field, string expected) => _unread.Add($"{field}: expected {expected}; kept as given");

        private static Dictionary<string, string> ReadTags(JsonNode? tags)
        {
            var read = new Dictionary<string, string>(StringComparer.Ordinal);
            var pairs = tags is JsonObject fields ? fields.Select(pair => (pair.Key, pair.Value)) : KeyValues(tags) ?? [];
            foreach (var (name, value) in pairs)
            {
                if (Text(value) is { } text)
                {
                    read.TryAdd(name, text);
                }
            }
            return read;
        }
    }

    /// <summary>A list of <c>{"key": name, "value": ...}</c> (MLflow's params, metrics and tags) as pairs; null for anything else.</summary>
    private static List<(string Key, JsonNode? Value)>? KeyValues(JsonNode? node)
    {
        if (node is not JsonArray items)
        {
            return null;
        }
        var pairs = new List<(string, JsonNode?)>(items.Count);
        foreach (var item in items)
        {
            if (item is not JsonObject pair || Text(pair["key"]) is not { } key || !pair.ContainsKey("value"))
            {
                return null;
            }
            pairs.Add((key, pair["value"]));
        }
        return pairs;
    }

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue(out string? text) ? text : null;

    /// <summary>A string, or a number as it was written (<c>1</c> → <c>"1"</c>).</summary>
    private static string? Scalar(JsonNode node) =>
        Text(node) ?? (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number ? value.ToJsonString() : null);

    private static long? VersionNumber(JsonNode node) =>
        node is JsonValue value && (value.TryGetValue(out long number) || Text(value) is { } text && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out number)) && number >= 1
            ? number
            : null;

    private static string? StringIn(JsonObject? fields, params ReadOnlySpan<string> names)
    {
        foreach (var name in names)
        {
            if (Text(fields?[name]) is { } text)
            {
                return text;
            }
        }
        return null;
    }

    private static string? Prefixed(string algorithm, string? digest) =>
        digest is null ? null : digest.Contains(':', StringComparison.Ordinal) ? digest : $"{algorithm}:{digest}";

    /// <summary>A URI with a scheme (<c>s3://</c>, <c>sklearn://</c>) or a path; anything else is a name (<c>sklearn-digits</c>, <c>ylecun/mnist</c>).</summary>
    private static bool LooksLikeUri(string text) =>
        text.Contains("://", StringComparison.Ordinal) || text.StartsWith('/') || text.StartsWith("./", StringComparison.Ordinal)
        || text.StartsWith("../", StringComparison.Ordinal) || text.StartsWith("~/", StringComparison.Ordinal);
}

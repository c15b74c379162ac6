using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hyperion.Benchmarks.Hosting;

namespace Hyperion.Benchmarks.Jobs;

/// <summary>
/// A batch job on the real graph (its model deployed with <see cref="GraphUnderTest.DeployAsync"/>): a JSONL file of
/// generated rows submitted to <c>POST /api/v1/jobs</c> and followed to the end.
/// </summary>
internal sealed class BatchJobRun(GraphUnderTest graph, HttpClient http, Action<string> progress)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    /// <summary>Submits <paramref name="lines"/> generated rows and follows the job until it ends, logging its progress.</summary>
    public async Task<BatchJobResult> RunAsync(string model, string input, int lines, int features, CancellationToken cancellationToken)
    {
        var body = GenerateLines(input, lines, features);
        progress($"submitting a job of {lines:N0} lines ({body.Length / 1_000_000.0:0.#} MB of JSONL)");
        var clock = Stopwatch.StartNew();
        string id;
        using (var submission = new MultipartFormDataContent())
        {
            submission.Add(new StringContent($$$"""{"target": {"model": "{{{model}}}"}}"""), "spec");
            var file = new ByteArrayContent(body);
            file.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            submission.Add(file, "input", "rows.jsonl");
            using var response = await graph.SendAsync(http, HttpMethod.Post, "api/v1/jobs", submission, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"POST /api/v1/jobs answered {(int)response.StatusCode}: {text}");
            }
            using var json = JsonDocument.Parse(text);
            id = json.RootElement.GetProperty("id").GetString()!;
        }
        var submitted = clock.Elapsed;

        var lastProgress = Stopwatch.StartNew();
        while (true)
        {
            await Task.Delay(PollInterval, cancellationToken);
            using var response = await graph.SendAsync(http, HttpMethod.Get, $"api/v1/jobs/{id}", null, cancellationToken);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            var job = json.RootElement;
            var state = job.GetProperty("state").GetString();
            var done = job.GetProperty("done").GetInt64();
            if (state is "succeeded" or "failed" or "cancelled")
            {
                var finished = clock.Elapsed;
                var run = job.GetProperty("finished_at").GetDateTimeOffset() - job.GetProperty("started_at").GetDateTimeOffset();
                return new BatchJobResult(id, state, job.GetProperty("total").GetInt64(), done, job.GetProperty("failed").GetInt64(),
                    submitted, finished, run, await CheckResultsAsync(id, lines, cancellationToken));
            }
            if (lastProgress.Elapsed >= ProgressInterval)
            {
                progress($"job {id}: {state}, {done:N0} of {lines:N0} lines done");
                lastProgress.Restart();
            }
        }
    }

    /// <summary>Whether the results hold one line per input line, in input order, each with outputs; null when they do.</summary>
    private async Task<string?> CheckResultsAsync(string id, int lines, CancellationToken cancellationToken)
    {
        using var response = await graph.SendAsync(http, HttpMethod.Get, $"api/v1/jobs/{id}/results", null, cancellationToken);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        var expected = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.GetProperty("line").GetInt32() != expected || !json.RootElement.TryGetProperty("outputs", out _))
            {
                return $"result line {expected} is {line[..Math.Min(line.Length, 200)]}";
            }
            expected++;
        }
        return expected == lines ? null : $"the results hold {expected} lines for {lines} input lines";
    }

    /// <summary>One JSON object a line, <paramref name="features"/> values in [0, 1) each, the same in every run.</summary>
    private static byte[] GenerateLines(string input, int lines, int features)
    {
        var random = new Random(7);
        var text = new StringBuilder(lines * (features * 6 + 16));
        for (var line = 0; line < lines; line++)
        {
            text.Append("{\"").Append(input).Append("\":[");
            for (var i = 0; i < features; i++)
            {
                if (i > 0)
                {
                    text.Append(',');
                }
                text.Append(Math.Round(random.NextDouble(), 3).ToString(CultureInfo.InvariantCulture));
            }
            text.Append("]}\n");
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}

/// <param name="Submitted">From the start of the upload to the 202.</param>
/// <param name="Finished">From the start of the upload to the job seen finished.</param>
/// <param name="Run">The job's own started_at → finished_at.</param>
/// <param name="ResultProblem">Null when the results hold every line in order with outputs.</param>
internal sealed record BatchJobResult(
    string Id, string? State, long Total, long Done, long Failed, TimeSpan Submitted, TimeSpan Finished, TimeSpan Run, string? ResultProblem)
{
    public double RowsPerSecond => Finished.TotalSeconds > 0 ? Done / Finished.TotalSeconds : 0;
}

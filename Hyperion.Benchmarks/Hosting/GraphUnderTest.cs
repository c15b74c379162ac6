using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Hyperion.Benchmarks.Hosting;

/// <summary>
/// The whole graph as <c>./build.sh run</c> starts it (the built AppHost under DCP: PostgreSQL, Redis, the
/// orchestrator, the gateway, inference replicas), for the rows that need the control plane. Its state lives in a
/// folder of the run, its gateway and dashboard on free ports, so a developer's running graph is left alone.
/// </summary>
internal sealed class GraphUnderTest : IAsyncDisposable
{
    private readonly ChildProcess _appHost;
    private readonly string _adminKeyPath;

    private GraphUnderTest(ChildProcess appHost, Uri gateway, string adminKeyPath)
    {
        _appHost = appHost;
        Gateway = gateway;
        _adminKeyPath = adminKeyPath;
    }

    /// <summary>The gateway: the public door, control-plane API included.</summary>
    public Uri Gateway { get; }

    public string OutputTail() => _appHost.OutputTail();

    public static GraphUnderTest Start(string appHostDll, string stateDirectory, int inferenceReplicas)
    {
        // PostgreSQL runs as the postgres user, which must reach its data folder through every parent.
        Directory.CreateDirectory(stateDirectory);
        for (var dir = new DirectoryInfo(stateDirectory); !OperatingSystem.IsWindows() && dir is not null && dir.FullName != Path.GetTempPath().TrimEnd('/'); dir = dir.Parent)
        {
            dir.UnixFileMode |= UnixFileMode.OtherExecute | UnixFileMode.GroupExecute;
        }
        var port = Toolchain.FreePort();
        var appHost = ChildProcess.Start("AppHost", Toolchain.DotnetHost,
            [
                appHostDll,
                $"--Hyperion:StateDirectory={stateDirectory}",
                $"--Hyperion:GatewayPort={port.ToString(CultureInfo.InvariantCulture)}",
                $"--Hyperion:InferenceReplicas={inferenceReplicas.ToString(CultureInfo.InvariantCulture)}",
                "--Hyperion:DeploySample=false",
            ],
            new Dictionary<string, string>
            {
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{Toolchain.FreePort()}",
                ["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://127.0.0.1:{Toolchain.FreePort()}",
            });
        return new GraphUnderTest(appHost, new Uri($"http://127.0.0.1:{port}/"), Path.Combine(stateDirectory, "admin-key"));
    }

    /// <summary>Waits for the gateway's health and the control plane behind it; false when the AppHost exits or time runs out.</summary>
    public async Task<bool> WaitReadyAsync(HttpClient http, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        if (!await _appHost.WaitReadyAsync(http, [new Uri(Gateway, "health")], timeout, cancellationToken))
        {
            return false;
        }
        while (DateTime.UtcNow - started < timeout && !_appHost.HasExited)
        {
            // The orchestrator writes the admin key once it has started; the gateway then forwards /api to it.
            if (File.Exists(_adminKeyPath))
            {
                try
                {
                    using var response = await SendAsync(http, HttpMethod.Get, "api/v1/models", null, cancellationToken);
                    if (response.IsSuccessStatusCode)
                    {
                        return true;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not up behind the gateway yet.
                }
            }
            await Task.Delay(500, cancellationToken);
        }
        return false;
    }

    /// <summary>A control-plane or inference call through the gateway with the graph's admin key.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(Gateway, path)) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(_adminKeyPath, cancellationToken)).Trim());
        return await http.SendAsync(request, cancellationToken);
    }

    /// <summary>
    /// Registers <paramref name="model"/>, uploads <paramref name="onnxFile"/> as version 1 (with
    /// <paramref name="configFile"/> when given; without, the registry reads the config from the ONNX file), deploys
    /// it and waits until it is ready, as a user would through the gateway; null, or what went wrong.
    /// </summary>
    public async Task<string?> DeployAsync(HttpClient http, string model, string onnxFile, string? configFile, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using (var response = await SendAsync(http, HttpMethod.Post, "api/v1/models", JsonContent($$"""{"name": "{{model}}", "task": "other"}"""), cancellationToken))
        {
            if (await ProblemAsync(response, $"registering {model}", cancellationToken) is { } problem)
            {
                return problem;
            }
        }
        using (var upload = new MultipartFormDataContent())
        {
            upload.Add(new ByteArrayContent(await File.ReadAllBytesAsync(onnxFile, cancellationToken)), "artifact", "model.onnx");
            if (configFile is not null)
            {
                upload.Add(new StringContent(await File.ReadAllTextAsync(configFile, cancellationToken)), "config");
            }
            using var response = await SendAsync(http, HttpMethod.Post, $"api/v1/models/{model}/versions", upload, cancellationToken);
            if (await ProblemAsync(response, $"uploading version 1 of {model}", cancellationToken) is { } problem)
            {
                return problem;
            }
        }
        using (var response = await SendAsync(http, HttpMethod.Put, $"api/v1/deployments/{model}", JsonContent("""{"stable": 1}"""), cancellationToken))
        {
            if (await ProblemAsync(response, $"deploying version 1 of {model}", cancellationToken) is { } problem)
            {
                return problem;
            }
        }
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            using var response = await SendAsync(http, HttpMethod.Get, $"api/v1/deployments/{model}", null, cancellationToken);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            if (json.RootElement.TryGetProperty("ready", out var ready) && ready.ValueKind == JsonValueKind.True)
            {
                return null;
            }
            await Task.Delay(250, cancellationToken);
        }
        return $"the deployment of {model} was not ready within {timeout.TotalSeconds:0} s";
    }

    public static StringContent JsonContent(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Null for a 2xx; otherwise what was being done, the status and the body.</summary>
    public static async Task<string?> ProblemAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken) =>
        response.IsSuccessStatusCode ? null : $"{what} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}";

    /// <summary>Stops the AppHost as Ctrl+C would, so DCP stops PostgreSQL, Redis and the services; kills it when it hangs.</summary>
    public async ValueTask DisposeAsync()
    {
        await _appHost.StopAsync(TimeSpan.FromSeconds(60));
        await _appHost.DisposeAsync();
    }
}

using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hyperion.AppHost.Publishing.Kubernetes;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using Hyperion.Tests.Protocol.Server;

namespace Hyperion.Tests.Publishing;

/// <summary>
/// The published environment is what a pod really runs with: the built inference server started with exactly
/// its Deployment's variables (as the kubelet expands them, on free local ports instead of 8080/8081, volumes as
/// folders) serves OIP readiness on the HTTP port and listens on the gRPC one.
/// </summary>
public sealed partial class PublishedPodEnvironmentTests(PublishedTreeFixture tree) : IClassFixture<PublishedTreeFixture>
{
    [Fact]
    public async Task An_inference_pod_environment_starts_the_server_on_its_ports()
    {
        var deployment = (await tree.RenderAsync(KubernetesPublisher.ProdOverlay)).Single(o => o.Kind() == "Deployment" && o.Name() == "inference-cpu");
        var container = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();
        var ports = container["ports"].Objects().ToDictionary(p => (string)p["name"]!, p => (string)p["containerPort"]!);
        var localPorts = ports.Values.ToDictionary(port => port, _ => ServerProcess.FreePort().ToString());
        using var root = new TemporaryDirectory("hyperion-pod");
        var mounts = container["volumeMounts"].Objects().Select(m => (string)m["mountPath"]!).OrderByDescending(p => p.Length).ToList();
        foreach (var mount in mounts)
        {
            Directory.CreateDirectory(root.Path + mount); // the kubelet mounts each volume there
        }

        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Hyperion.Inference.dll"));
        var defined = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in container["env"].Objects())
        {
            var value = variable["valueFrom"]?["fieldRef"]?["fieldPath"] is JsonNode field
                ? ((string)field! == "status.podIP" ? "127.0.0.1" : throw new InvalidOperationException($"unexpected field {field}"))
                : Expand((string)variable["value"]!, defined);
            value = PortNumber().Replace(value, m => localPorts.TryGetValue(m.Value, out var local) ? local : m.Value);
            if (mounts.Any(mount => value.StartsWith(mount, StringComparison.Ordinal)))
            {
                value = root.Path + value;
            }
            defined[(string)variable["name"]!] = value;
            start.Environment[(string)variable["name"]!] = value;
        }

        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{localPorts[ports["http"]]}"), Timeout = TimeSpan.FromSeconds(5) };
            var ready = false;
            for (var deadline = DateTime.UtcNow.AddSeconds(90); !ready && DateTime.UtcNow < deadline && !process.HasExited; await Task.Delay(250))
            {
                try
                {
                    ready = (await http.GetAsync((string)container["readinessProbe"]!["httpGet"]!["path"]!)).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
            }
            Assert.True(ready, $"The server never became ready with the published environment:\n{output}");
            Assert.True((await http.GetAsync((string)container["livenessProbe"]!["httpGet"]!["path"]!)).IsSuccessStatusCode);
            using var grpc = new TcpClient();
            await grpc.ConnectAsync("127.0.0.1", int.Parse(localPorts[ports["grpc"]])); // Inference__GrpcUrl: the pod's IP, here loopback
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Kubernetes' $(NAME) references to earlier variables; $$( is a literal $(.</summary>
    private static string Expand(string value, Dictionary<string, string> defined) =>
        Reference().Replace(value, m => m.Value.StartsWith("$$", StringComparison.Ordinal)
            ? m.Value[1..]
            : defined.TryGetValue(m.Groups["name"].Value, out var known) ? known : m.Value);

    [GeneratedRegex(@"\$?\$\((?<name>[A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex Reference();

    [GeneratedRegex(@"(?<=^|:)\d{2,5}(?=$|/|;)")]
    private static partial Regex PortNumber();
}

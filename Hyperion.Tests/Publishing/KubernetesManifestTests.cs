using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hyperion.AppHost.Publishing;
using Hyperion.AppHost.Publishing.Kubernetes;
using Hyperion.Tests.Protocol.Server;

namespace Hyperion.Tests.Publishing;

/// <summary>
/// The Kubernetes tree <c>publish</c> writes: valid against the official schemas (checked by someone else's
/// validator), renderable by kustomize, and holding the invariants a cluster operator relies on.
/// </summary>
public sealed partial class KubernetesManifestTests(PublishedTreeFixture tree) : IClassFixture<PublishedTreeFixture>
{
    private static readonly string[] s_overlays = [KubernetesPublisher.DevOverlay, KubernetesPublisher.ProdOverlay];
    private static readonly string[] s_kustomizations = [KubernetesPublisher.BaseDirectory, .. s_overlays];

    [Fact]
    public void Publish_writes_the_manifest_and_a_tree_for_kustomize()
    {
        Assert.True(tree.ExitCode == 0, tree.CommandOutput);
        Assert.True(File.Exists(Path.Combine(tree.OutputDirectory, "aspire-manifest.json")));
        foreach (var kustomization in s_kustomizations)
        {
            Assert.True(File.Exists(Path.Combine(tree.KubernetesDirectory, kustomization, "kustomization.yaml")), $"{kustomization} has no kustomization.yaml");
        }
        Assert.Contains("images registry.test/acme/<resource>:1.2.3", tree.CommandOutput);
    }

    [Fact]
    public async Task Every_object_and_every_rendered_overlay_passes_the_published_schemas()
    {
        var rendered = new List<string>();
        foreach (var kustomization in s_kustomizations)
        {
            await tree.RenderAsync(kustomization);
            rendered.Add(tree.RenderedPath(kustomization));
        }
        var result = await ValidateAsync([.. tree.ObjectFiles, .. rendered]);
        Assert.True(result.ExitCode == 0, $"The validator found problems:\n{result.Everything}");
        Assert.Matches(@"^\d+ object\(s\) valid", result.Output.Trim());
    }

    [Fact]
    public async Task The_validator_rejects_an_object_that_breaks_its_schema()
    {
        var broken = Path.Combine(tree.OutputDirectory, "broken.yaml");
        await File.WriteAllTextAsync(broken, """
            apiVersion: keda.sh/v1alpha1
            kind: ScaledObject
            metadata:
              name: broken
            spec:
              scaleTargetRef:
                name: inference-cpu
              triggers:
              - type: prometheus
                metadata:
                  threshold: 8
            """);
        var result = await ValidateAsync([broken]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("ScaledObject/broken: /spec/triggers/0/metadata/threshold must be string", result.Error);
    }

    [Fact]
    public async Task Every_container_has_probes_requests_and_limits()
    {
        foreach (var overlay in s_overlays)
        {
            foreach (var (owner, container) in Containers(await tree.RenderAsync(overlay)))
            {
                var where = $"{overlay}: {owner.Describe()} container {container["name"]}";
                foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
                {
                    Assert.True(container[probe] is JsonObject, $"{where} has no {probe}");
                }
                foreach (var bound in new[] { "requests", "limits" })
                {
                    foreach (var resource in new[] { "cpu", "memory" })
                    {
                        Assert.True(container["resources"]?[bound]?[resource] is not null, $"{where} has no {bound}.{resource}");
                    }
                }
            }
        }
    }

    [Fact]
    public async Task Every_Deployment_has_a_PodDisruptionBudget_over_its_pods()
    {
        foreach (var overlay in s_overlays)
        {
            var objects = await tree.RenderAsync(overlay);
            var budgets = objects.Where(o => o.Kind() == "PodDisruptionBudget").ToList();
            foreach (var deployment in objects.Where(o => o.Kind() == "Deployment"))
            {
                var podLabels = deployment["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
                var covering = budgets.Where(b => b["spec"]!["selector"]!["matchLabels"]!.AsObject()
                    .All(label => (string?)podLabels[label.Key] == (string?)label.Value)).ToList();
                Assert.True(covering.Count == 1, $"{overlay}: {deployment.Describe()} is covered by {covering.Count} PodDisruptionBudgets, expected 1");
                Assert.Equal("1", (string?)covering[0]["spec"]!["maxUnavailable"]);
            }
        }
    }

    [Fact]
    public async Task No_Secret_variable_or_template_carries_a_secret_value()
    {
        foreach (var overlay in s_overlays)
        {
            var objects = await tree.RenderAsync(overlay);
            var secrets = objects.Where(o => o.Kind() == "Secret").ToList();
            Assert.NotEmpty(secrets); // generated from the templates: the test must see some
            foreach (var secret in secrets)
            {
                foreach (var field in new[] { "data", "stringData" })
                {
                    foreach (var (key, value) in secret[field]?.AsObject() ?? [])
                    {
                        Assert.True(string.IsNullOrEmpty((string?)value), $"{overlay}: {secret.Describe()} carries a value for '{key}'");
                    }
                }
            }
            foreach (var (owner, container) in Containers(objects))
            {
                foreach (var variable in container["env"].Objects())
                {
                    var value = (string?)variable["value"] ?? "";
                    // A password is a $(PARAM_...) reference to a Secret, never a literal.
                    Assert.False(LiteralPassword().IsMatch(value), $"{overlay}: {owner.Describe()} {variable["name"]} has a literal password: {value}");
                }
            }
        }
        foreach (var template in Directory.EnumerateFiles(tree.KubernetesDirectory, "*.env.example", SearchOption.AllDirectories))
        {
            var assignments = File.ReadLines(template).Where(line => !line.StartsWith('#') && line.Contains('=')).ToList();
            Assert.NotEmpty(assignments);
            Assert.All(assignments, line => Assert.EndsWith("=", line));
        }
    }

    [Fact]
    public async Task Images_come_from_the_configured_registry_and_tag()
    {
        foreach (var overlay in s_overlays)
        {
            var objects = await tree.RenderAsync(overlay);
            foreach (var (owner, container) in Containers(objects))
            {
                var image = (string)container["image"]!;
                var resource = (string)owner["metadata"]!["labels"]![KubernetesLabels.Name]!;
                if (tree.Manifest[resource]?["image"] is { } backingServiceImage)
                {
                    Assert.Equal((string)backingServiceImage!, image);
                }
                else
                {
                    Assert.Matches($"^{Regex.Escape($"{PublishedTreeFixture.Registry}/{resource}:{PublishedTreeFixture.Tag}")}(-gpu)?$", image);
                }
            }
            var projectImages = objects.Where(o => o.Kind() == "Deployment").SelectMany(d => d["spec"]!["template"]!["spec"]!["containers"].Objects()).Select(c => (string)c["image"]!);
            Assert.Equal(tree.Projects.Select(p => p.Name).Order(), projectImages.Select(i => i.Split('/')[^1].Split(':')[0]).Distinct().Order());
        }
    }

    [Fact]
    public async Task Pods_meet_the_restricted_Pod_Security_Standard_with_writable_volumes_only()
    {
        foreach (var overlay in s_overlays)
        {
            var objects = await tree.RenderAsync(overlay);
            Assert.Equal("restricted", (string?)objects.Single(o => o.Kind() == "Namespace")["metadata"]!["labels"]!["pod-security.kubernetes.io/enforce"]);
            foreach (var account in objects.Where(o => o.Kind() == "ServiceAccount"))
            {
                Assert.Equal("false", (string?)account["automountServiceAccountToken"]);
            }
            foreach (var workload in objects.Where(o => o.Kind() is "Deployment" or "StatefulSet"))
            {
                var pod = workload["spec"]!["template"]!["spec"]!;
                Assert.Equal("false", (string?)pod["automountServiceAccountToken"]);
                Assert.Equal("true", (string?)pod["securityContext"]!["runAsNonRoot"]);
                Assert.Equal("RuntimeDefault", (string?)pod["securityContext"]!["seccompProfile"]!["type"]);
                foreach (var container in pod["containers"].Objects())
                {
                    var where = $"{overlay}: {workload.Describe()} container {container["name"]}";
                    var security = container["securityContext"]!;
                    Assert.True((string?)security["readOnlyRootFilesystem"] == "true", $"{where}: root filesystem is writable");
                    Assert.True((string?)security["allowPrivilegeEscalation"] == "false", $"{where}: privilege escalation allowed");
                    Assert.True(security["capabilities"]?["drop"]?.AsArray().Any(c => (string?)c == "ALL") == true, $"{where}: capabilities not dropped");
                    Assert.Contains(container["volumeMounts"].Objects(), m => (string?)m["mountPath"] == "/tmp");
                }
            }
        }
        var inference = (await tree.RenderAsync(KubernetesPublisher.ProdOverlay)).Where(o => o.Kind() == "Deployment" && o.Name().StartsWith("inference", StringComparison.Ordinal));
        foreach (var deployment in inference)
        {
            // The model repository the replica downloads into is on a volume, not the read-only root.
            var container = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!;
            var repository = (string)container["env"].Objects().Single(v => (string?)v["name"] == "Inference__ModelRepository")["value"]!;
            var mount = Assert.Single(container["volumeMounts"].Objects(), m => (string?)m["mountPath"] == repository);
            var volume = deployment["spec"]!["template"]!["spec"]!["volumes"].Objects().Single(v => (string?)v["name"] == (string?)mount["name"]);
            Assert.NotNull(volume["emptyDir"]); // the server needs the folder to exist when it starts: a volume of its own
        }
    }

    [Fact]
    public async Task Only_the_gateway_is_reachable_from_outside_and_only_the_orchestrator_reaches_PostgreSQL()
    {
        foreach (var overlay in s_overlays)
        {
            var policies = (await tree.RenderAsync(overlay)).Where(o => o.Kind() == "NetworkPolicy").ToList();
            var deny = policies.Single(p => p.Name() == "default-deny");
            Assert.Empty(deny["spec"]!["podSelector"]!.AsObject());
            Assert.Equal(["Ingress", "Egress"], deny["spec"]!["policyTypes"]!.AsArray().Select(t => (string)t!));

            var openToAnyone = policies
                .SelectMany(p => p["spec"]!["ingress"].Objects().Where(rule => rule["from"] is null).Select(_ => PodsSelected(p)))
                .ToList();
            Assert.Equal(["gateway"], openToAnyone);

            var postgresPort = "5432";
            var reachingPostgres = policies
                .Where(p => p["spec"]!["egress"].Objects().Any(rule =>
                    rule["ports"].Objects().Any(port => (string?)port["port"] == postgresPort)
                    && (rule["to"].Objects().Any(peer => (string?)peer["podSelector"]?["matchLabels"]?[KubernetesLabels.Name] == "pg") || rule["to"].Objects().Any(peer => peer["ipBlock"] is not null))))
                .Select(PodsSelected)
                .ToList();
            Assert.Equal(["orchestrator"], reachingPostgres);
        }

        // Outside the cluster, in the base, only the orchestrator may go: to webhook receivers, on HTTPS and HTTP.
        var outside = (await tree.RenderAsync(KubernetesPublisher.BaseDirectory))
            .Where(o => o.Kind() == "NetworkPolicy" && o["spec"]!["egress"].Objects().Any(r => r["to"].Objects().Any(peer => peer["ipBlock"] is not null)))
            .ToList();
        Assert.Equal(["orchestrator"], outside.Select(PodsSelected));
        Assert.Equal(["443", "80"], outside.Single()["spec"]!["egress"]![0]!["ports"].Objects().Select(p => (string)p["port"]!));

        var dev = (await tree.RenderAsync(KubernetesPublisher.DevOverlay)).Where(o => o.Kind() == "NetworkPolicy").ToList();
        var pg = dev.Single(p => p.Name() == "pg-traffic");
        Assert.Equal(["orchestrator"], pg["spec"]!["ingress"].Objects().SelectMany(r => r["from"].Objects()).Select(peer => (string)peer["podSelector"]!["matchLabels"]![KubernetesLabels.Name]!));
        var cache = dev.Single(p => p.Name() == "cache-traffic");
        Assert.Equal(["gateway", "orchestrator"], cache["spec"]!["ingress"].Objects().SelectMany(r => r["from"].Objects()).Select(peer => (string)peer["podSelector"]!["matchLabels"]![KubernetesLabels.Name]!).Order());
        Assert.Contains(dev, p => p.Name() == "allow-dns"
            && p["spec"]!["egress"].Objects().Any(r => r["ports"].Objects().Any(port => (string?)port["port"] == "53" && (string?)port["protocol"] == "UDP")));

        // Inference takes requests from the gateway and the orchestrator (the graph's references), from no one else in the namespace.
        var inference = dev.Single(p => p.Name() == "inference-traffic");
        var inferenceClients = inference["spec"]!["ingress"].Objects().SelectMany(r => r["from"].Objects())
            .Select(peer => (string?)peer["podSelector"]?["matchLabels"]?[KubernetesLabels.Name]).OfType<string>().Order();
        Assert.Equal(["gateway", "orchestrator"], inferenceClients);
    }

    [Fact]
    public async Task The_drift_schedule_is_a_suspended_CronJob_that_posts_to_the_orchestrator_with_a_key_from_a_Secret()
    {
        foreach (var overlay in s_overlays)
        {
            var objects = await tree.RenderAsync(overlay);
            var cronJob = objects.Single(o => o.Kind() == "CronJob");
            Assert.Equal(DriftSchedule.Name, cronJob.Name());
            Assert.Equal("true", (string?)cronJob["spec"]!["suspend"]);
            Assert.Equal("Forbid", (string?)cronJob["spec"]!["concurrencyPolicy"]);
            Assert.Equal("*/5 * * * *", (string?)cronJob["spec"]!["schedule"]);
            var pod = cronJob["spec"]!["jobTemplate"]!["spec"]!["template"]!["spec"]!;
            Assert.Equal("false", (string?)pod["automountServiceAccountToken"]);
            Assert.Equal("true", (string?)pod["securityContext"]!["runAsNonRoot"]);
            var container = pod["containers"]![0]!;
            Assert.Equal("true", (string?)container["securityContext"]!["readOnlyRootFilesystem"]);
            Assert.NotNull(container["resources"]?["limits"]?["memory"]);

            // It calls the orchestrator's Service on its HTTP port, the way a client does: POST with a Bearer key.
            var orchestratorService = objects.Single(o => o.Kind() == "Service" && o.Name() == "orchestrator");
            var httpPort = (string)orchestratorService["spec"]!["ports"].Objects().Single(p => (string?)p["name"] == "http")["port"]!;
            var args = container["args"]!.AsArray().Select(a => (string)a!).ToList();
            Assert.Equal($"http://orchestrator:{httpPort}/api/v1/drift/run", args[^1]);
            Assert.Equal("POST", args[args.IndexOf("-X") + 1]);
            Assert.Equal("Authorization: Bearer $(HYPERION_API_KEY)", args[args.IndexOf("-H") + 1]);
            var key = container["env"].Objects().Single(v => (string?)v["name"] == "HYPERION_API_KEY");
            Assert.Equal(DriftSchedule.SecretName, (string?)key["valueFrom"]!["secretKeyRef"]!["name"]);

            // Its pods reach the orchestrator's HTTP port and nothing else; the orchestrator takes them in.
            var policies = objects.Where(o => o.Kind() == "NetworkPolicy" && o["spec"]!["podSelector"]!["matchLabels"] is not null).ToList();
            var jobs = policies.Where(p => PodsSelected(p) == DriftSchedule.Name).ToList();
            var egress = Assert.Single(jobs.SelectMany(p => p["spec"]!["egress"].Objects()));
            Assert.Equal("orchestrator", (string?)egress["to"]![0]!["podSelector"]!["matchLabels"]![KubernetesLabels.Name]);
            var targetPort = (string)orchestratorService["spec"]!["ports"].Objects().Single(p => (string?)p["name"] == "http")["targetPort"]!;
            var orchestratorDeployment = objects.Single(o => o.Kind() == "Deployment" && o.Name() == "orchestrator");
            var containerPort = (string)orchestratorDeployment["spec"]!["template"]!["spec"]!["containers"]![0]!["ports"].Objects().Single(p => (string?)p["name"] == targetPort)["containerPort"]!;
            Assert.Equal(containerPort, (string?)egress["ports"]![0]!["port"]);
            Assert.Contains(policies.Where(p => PodsSelected(p) == "orchestrator").SelectMany(p => p["spec"]!["ingress"].Objects()),
                rule => rule["from"].Objects().Any(peer => (string?)peer["podSelector"]?["matchLabels"]?[KubernetesLabels.Name] == DriftSchedule.Name)
                        && rule["ports"].Objects().Any(port => (string?)port["port"] == containerPort));
        }
    }

    [Fact]
    public async Task Inference_runs_a_CPU_pool_and_a_GPU_pool_that_scales_to_zero_on_queue_depth()
    {
        var objects = await tree.RenderAsync(KubernetesPublisher.ProdOverlay);
        var gpu = objects.Single(o => o.Kind() == "Deployment" && o.Name() == "inference-gpu");
        var pod = gpu["spec"]!["template"]!["spec"]!;
        var container = pod["containers"]![0]!;
        Assert.Equal("1", (string?)container["resources"]!["limits"]!["nvidia.com/gpu"]);
        Assert.Equal("true", (string?)pod["nodeSelector"]!["nvidia.com/gpu.present"]);
        Assert.Contains(pod["tolerations"].Objects(), t => (string?)t["key"] == "nvidia.com/gpu" && (string?)t["effect"] == "NoSchedule");
        Assert.Contains(pod["affinity"]!["nodeAffinity"]!["preferredDuringSchedulingIgnoredDuringExecution"].Objects(),
            term => term["preference"]!["matchExpressions"].Objects().Any(e => (string?)e["key"] == "nvidia.com/gpu.product"));
        Assert.EndsWith("-gpu", (string)container["image"]!);
        Assert.Null(gpu["spec"]!["replicas"]); // KEDA owns the count

        var cpu = objects.Single(o => o.Kind() == "Deployment" && o.Name() == "inference-cpu");
        // Each replica reports its own addresses (the gateway routes to replicas that hold the version), not the Service's.
        var variables = VariableList(objects, "inference-cpu").Select(v => (string)v["name"]!).ToList();
        var cpuVariables = VariablesOf(objects, "inference-cpu");
        Assert.Equal("status.podIP", (string?)cpuVariables["POD_IP"]["valueFrom"]!["fieldRef"]!["fieldPath"]);
        Assert.Equal("http://$(POD_IP):8080", (string?)cpuVariables["Inference__ControlPlane__AdvertisedUrl"]["value"]);
        Assert.Equal("http://$(POD_IP):8081", (string?)cpuVariables["Inference__GrpcUrl"]["value"]);
        Assert.Equal("cpu", (string?)cpuVariables["Inference__ControlPlane__Pool"]["value"]);
        Assert.True(variables.IndexOf("POD_IP") < variables.IndexOf("Inference__GrpcUrl"));
        Assert.Equal(1, variables.Count(v => v == "Inference__GrpcUrl"));
        Assert.Null(cpu["spec"]!["template"]!["spec"]!["containers"]![0]!["resources"]!["limits"]!["nvidia.com/gpu"]);
        Assert.Equal("/v2/health/ready", (string?)cpu["spec"]!["template"]!["spec"]!["containers"]![0]!["readinessProbe"]!["httpGet"]!["path"]);

        var scalers = objects.Where(o => o.Kind() == "ScaledObject").ToDictionary(o => o.Name());
        Assert.Equal("0", (string?)scalers["inference-gpu"]["spec"]!["minReplicaCount"]);
        Assert.Equal(new Hyperion.AppHost.HyperionGraphOptions().InferenceReplicas.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)scalers["inference-cpu"]["spec"]!["minReplicaCount"]);
        foreach (var scaler in scalers.Values)
        {
            var trigger = scaler["spec"]!["triggers"]![0]!;
            Assert.Equal("prometheus", (string?)trigger["type"]);
            Assert.Contains("hyperion_inference_queue_depth{", (string)trigger["metadata"]!["query"]!);
        }
        Assert.Contains("hyperion_dev_pool=\"cpu\"", (string)scalers["inference-cpu"]["spec"]!["triggers"]![0]!["metadata"]!["query"]!);

        var hpa = objects.Single(o => o.Kind() == "HorizontalPodAutoscaler");
        Assert.Equal("gateway", (string?)hpa["spec"]!["scaleTargetRef"]!["name"]);
        Assert.Equal("cpu", (string?)hpa["spec"]!["metrics"]![0]!["resource"]!["name"]);
    }

    [Fact]
    public async Task Overlays_connect_the_services_to_in_cluster_or_managed_backing_services()
    {
        var dev = await tree.RenderAsync(KubernetesPublisher.DevOverlay);
        var parametersSecret = dev.Single(o => o.Kind() == "Secret").Name();
        Assert.StartsWith("hyperion-parameters-", parametersSecret); // kustomize's hashed name, referenced everywhere
        var orchestrator = VariablesOf(dev, "orchestrator");
        Assert.Equal("Host=pg;Port=5432;Username=postgres;Password=$(PARAM_PG_PASSWORD);Database=hyperion", (string?)orchestrator["ConnectionStrings__hyperion"]!["value"]);
        Assert.Equal(parametersSecret, (string?)orchestrator["PARAM_PG_PASSWORD"]!["valueFrom"]!["secretKeyRef"]!["name"]);
        Assert.Equal("pg-password", (string?)orchestrator["PARAM_PG_PASSWORD"]!["valueFrom"]!["secretKeyRef"]!["key"]);
        Assert.Equal("cache:6379,password=$(PARAM_CACHE_PASSWORD)", (string?)VariablesOf(dev, "gateway")["ConnectionStrings__cache"]!["value"]);
        // A variable refers only to variables defined before it.
        var names = VariableList(dev, "orchestrator").Select(v => (string)v["name"]!).ToList();
        Assert.True(names.IndexOf("PARAM_PG_PASSWORD") < names.IndexOf("ConnectionStrings__hyperion"));

        var statefulSets = dev.Where(o => o.Kind() == "StatefulSet").ToDictionary(o => o.Name());
        Assert.Equal(["cache", "pg"], statefulSets.Keys.Order());
        Assert.All(statefulSets.Values, s => Assert.Equal("data", (string?)s["spec"]!["volumeClaimTemplates"]![0]!["metadata"]!["name"]));
        var init = dev.Single(o => o.Kind() == "ConfigMap" && o.Name().StartsWith("pg-init", StringComparison.Ordinal));
        Assert.Contains("CREATE DATABASE \"hyperion\";", (string)init["data"]!["10-databases.sql"]!);

        var prod = await tree.RenderAsync(KubernetesPublisher.ProdOverlay);
        Assert.DoesNotContain(prod, o => o.Kind() == "StatefulSet");
        var connections = prod.Single(o => o.Kind() == "Secret").Name();
        Assert.StartsWith("hyperion-connection-strings-", connections);
        var managed = VariablesOf(prod, "orchestrator");
        Assert.Equal(connections, (string?)managed["ConnectionStrings__hyperion"]!["valueFrom"]!["secretKeyRef"]!["name"]);
        Assert.Equal("hyperion", (string?)managed["ConnectionStrings__hyperion"]!["valueFrom"]!["secretKeyRef"]!["key"]);
        Assert.Equal("cache", (string?)VariablesOf(prod, "gateway")["ConnectionStrings__cache"]!["valueFrom"]!["secretKeyRef"]!["key"]);
        Assert.DoesNotContain(managed, v => v.Key.StartsWith("PARAM_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Alerts_scaling_and_dashboard_use_metrics_the_services_export()
    {
        var objects = await tree.RenderAsync(KubernetesPublisher.BaseDirectory);
        var rules = objects.Single(o => o.Kind() == "PrometheusRule");
        var alerts = rules["spec"]!["groups"].Objects().SelectMany(g => g["rules"].Objects()).Select(r => (string?)r["alert"]).OfType<string>().ToList();
        foreach (var expected in new[] { "HyperionErrorBudgetBurnFast", "HyperionLatencyP99High", "HyperionInferenceQueueSaturated", "HyperionModelNotReady", "HyperionModelDrift" })
        {
            Assert.Contains(expected, alerts);
        }

        var queries = rules["spec"]!["groups"].Objects().SelectMany(g => g["rules"].Objects()).Select(r => (string)r["expr"]!)
            .Concat(objects.Where(o => o.Kind() == "ScaledObject").SelectMany(s => s["spec"]!["triggers"].Objects()).Select(t => (string)t["metadata"]!["query"]!))
            .Concat(JsonNode.Parse((string)objects.Single(o => o.Kind() == "ConfigMap" && o.Name() == "hyperion-dashboard")["data"]![GrafanaDashboard.FileName]!)!["panels"]
                .Objects().SelectMany(p => p["targets"].Objects()).Select(t => (string)t["expr"]!))
            .ToList();
        var used = queries.SelectMany(q => MetricSelector().Matches(q).Select(m => m.Groups["metric"].Value)).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("hyperion_inference_queue_depth", used);

        var sources = string.Join('\n', new[] { "Hyperion.Inference", "Hyperion.Orchestrator", "Hyperion.Gateway", "Hyperion.ServiceDefaults" }
            .SelectMany(project => Directory.EnumerateFiles(Path.Combine(ServerProcess.RepositoryRoot, project), "*.cs", SearchOption.AllDirectories))
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText));
        // Prometheus' own "up", and ASP.NET Core's request histogram (meter Microsoft.AspNetCore.Hosting) that every service exports.
        string[] outsideOurCode = ["up", MonitoringQueries.HttpRequestDuration];
        var missing = used
            .Where(metric => !outsideOurCode.Contains(metric.Replace("_bucket", "").Replace("_count", "").Replace("_sum", "")))
            .Where(metric => !new[] { metric, Regex.Replace(metric, "_(bucket|count|sum)$", "") }.Any(name => sources.Contains($"\"{name}\"", StringComparison.Ordinal)))
            .Order()
            .ToList();
        // Every metric the alerts, scaling and dashboard read is one a service exports (the drift score included:
        // Hyperion.Orchestrator/Quality/QualitySignals.cs).
        Assert.Empty(missing);
        Assert.Contains(MonitoringQueries.ModelDriftScore, used);
    }

    [Fact]
    public void Every_project_has_a_Dockerfile_that_builds_it_to_run_as_a_non_root_user()
    {
        foreach (var project in tree.Projects)
        {
            var projectDirectory = Path.GetDirectoryName(project.ProjectPath)!;
            var dockerfile = Path.Combine(projectDirectory, "Dockerfile");
            Assert.True(File.Exists(dockerfile), $"{project.Name} has no Dockerfile at {dockerfile}");
            var text = File.ReadAllText(dockerfile);
            var projectFile = Path.GetRelativePath(ServerProcess.RepositoryRoot, project.ProjectPath).Replace('\\', '/');
            Assert.Contains(projectFile, text);
            Assert.Contains($"{Path.GetFileNameWithoutExtension(project.ProjectPath)}.dll", text);
            Assert.Matches(@"(?m)^USER \$APP_UID|^USER 1654", text);
            Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/sdk:10\.0", text);
            Assert.Contains($"EXPOSE {Hyperion.AppHost.Replicas.ProjectEndpointExtensions.PublishedHttpPort}", text);
        }
        Assert.True(File.Exists(Path.Combine(ServerProcess.RepositoryRoot, ".dockerignore")));
    }

    private static async Task<ExternalTool.Result> ValidateAsync(IEnumerable<string> files)
    {
        var node = ExternalTool.Require("node", "Install Node.js 20 or later (apt-get install nodejs npm).");
        Assert.True(Directory.Exists(Path.Combine(PublishedTreeFixture.ValidatorDirectory, "node_modules")),
            $"The schema validator is not installed: run `npm ci --prefix {PublishedTreeFixture.ValidatorDirectory}` (./build.sh test does).");
        return await ExternalTool.RunAsync(node, [Path.Combine(PublishedTreeFixture.ValidatorDirectory, "validate.mjs"), .. files], PublishedTreeFixture.ValidatorDirectory);
    }

    private static IEnumerable<(JsonObject Owner, JsonObject Container)> Containers(IEnumerable<JsonObject> objects) =>
        objects
            .Where(o => o.Kind() is "Deployment" or "StatefulSet")
            .SelectMany(o => o["spec"]!["template"]!["spec"]!["containers"].Objects()
                .Concat(o["spec"]!["template"]!["spec"]!["initContainers"].Objects())
                .Select(c => (o, c)));

    private static string PodsSelected(JsonObject policy) =>
        (string)policy["spec"]!["podSelector"]!["matchLabels"]![KubernetesLabels.Name]!;

    private static List<JsonObject> VariableList(IEnumerable<JsonObject> objects, string deployment) =>
        [.. objects.Single(o => o.Kind() == "Deployment" && o.Name() == deployment)["spec"]!["template"]!["spec"]!["containers"]![0]!["env"].Objects()];

    private static Dictionary<string, JsonObject> VariablesOf(IEnumerable<JsonObject> objects, string deployment) =>
        VariableList(objects, deployment).ToDictionary(v => (string)v["name"]!);

    [GeneratedRegex(@"password=(?!\$\()", RegexOptions.IgnoreCase)]
    private static partial Regex LiteralPassword();

    /// <summary>A metric in a PromQL selector: its name right before the label braces.</summary>
    [GeneratedRegex(@"(?<![\w:])(?<metric>[a-zA-Z_][a-zA-Z0-9_]*)\{")]
    private static partial Regex MetricSelector();
}

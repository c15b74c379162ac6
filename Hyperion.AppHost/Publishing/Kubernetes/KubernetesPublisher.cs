using System.Text;
using Hyperion.AppHost.Publishing.Kubernetes.CustomResources;
using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>
/// The Kubernetes tree for kustomize: base/ (what every cluster runs: the services, their scaling, policies,
/// routes and monitoring), overlays/dev (Redis and PostgreSQL as StatefulSets in the namespace) and
/// overlays/prod (managed Redis and PostgreSQL through connection strings in a Secret).
/// </summary>
internal static class KubernetesPublisher
{
    public const string DirectoryName = "k8s";
    public const string BaseDirectory = "base";
    public const string DevOverlay = "overlays/dev";
    public const string ProdOverlay = "overlays/prod";

    public static IReadOnlyList<KubernetesFile> Build(PublishedGraph graph, PublishOptions options)
    {
        var values = new KubernetesValues(graph);
        var parameters = new ParameterSources(graph);
        var overlays = new EnvironmentOverlays(graph, options, values, parameters);
        var files = new List<KubernetesFile>();
        files.AddRange(Base(graph, options, values));
        files.AddRange(Dev(graph, options, values, parameters, overlays.InCluster()));
        files.AddRange(Prod(graph, options, parameters, overlays.Managed()));
        files.Add(new TextFile("README.md", Readme(options)));
        return files;
    }

    /// <summary>Writes the files under <paramref name="directory"/>; env files an operator filled in are left alone.</summary>
    public static IReadOnlyList<string> Write(IReadOnlyList<KubernetesFile> files, string directory)
    {
        var written = new List<string>();
        foreach (var file in files)
        {
            var path = Path.Combine(directory, file.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, file.Render(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            written.Add(path);
        }
        return written;
    }

    private static IEnumerable<KubernetesFile> Base(PublishedGraph graph, PublishOptions options, KubernetesValues values)
    {
        var workloads = new ProjectWorkloads(options, values);
        var autoscalers = new Autoscalers(options);
        var files = new List<YamlFile> { new($"{BaseDirectory}/namespace.yaml", [Namespace(options)]) };
        foreach (var project in graph.Projects)
        {
            files.Add(new YamlFile($"{BaseDirectory}/{project.Name}.yaml",
                [.. workloads.Objects(project), .. autoscalers.For(ProjectWorkloads.DeploymentsOf(project))]));
        }
        files.Add(new YamlFile($"{BaseDirectory}/network-policies.yaml", [.. new NetworkPolicies(graph, options).Base()]));
        if (new PublicRoutes(graph, options).Objects() is { Count: > 0 } routes)
        {
            files.Add(new YamlFile($"{BaseDirectory}/public-routes.yaml", routes));
        }
        files.Add(new YamlFile($"{BaseDirectory}/monitoring.yaml", [.. new Monitoring(graph, options).Objects()]));
        files.Add(new YamlFile($"{BaseDirectory}/grafana-dashboard.yaml", [new GrafanaDashboard(options).ConfigMap()]));
        if (new DriftSchedule(graph, options).Objects() is { Count: > 0 } schedule)
        {
            files.Add(new YamlFile($"{BaseDirectory}/{DriftSchedule.Name}.yaml", schedule));
        }

        var kustomization = new Kustomization
        {
            Namespace = options.Namespace,
            Resources = [.. files.Select(f => Path.GetFileName(f.Path))],
        };
        return [.. files, new YamlFile($"{BaseDirectory}/{Kustomization.FileName}", [kustomization])];
    }

    private static IEnumerable<KubernetesFile> Dev(PublishedGraph graph, PublishOptions options, KubernetesValues values, ParameterSources parameters, OverlayEnvironment environment)
    {
        var services = new InClusterBackingServices(graph, options, values, parameters);
        var files = new List<KubernetesFile>();
        var resources = new List<string> { "../../base" };
        foreach (var service in graph.BackingServices)
        {
            files.Add(new YamlFile($"{DevOverlay}/{service.Name}.yaml", [.. services.Objects(service)]));
            resources.Add($"{service.Name}.yaml");
        }
        var policies = new NetworkPolicies(graph, options).InClusterBackingServices().ToList();
        if (policies.Count > 0)
        {
            files.Add(new YamlFile($"{DevOverlay}/network-policies.yaml", policies));
            resources.Add("network-policies.yaml");
        }
        // The StatefulSets' passwords come from the same Secret as the services' connection strings.
        var used = environment.Parameters
            .Concat(graph.BackingServices.SelectMany(s => s.Container.Environment).SelectMany(e => values.Resolve(e.Value).Parameters))
            .Distinct()
            .ToList();
        files.AddRange(Patches(DevOverlay, environment));
        files.AddRange(ParameterFiles(DevOverlay, parameters, used));
        files.Add(new TextFile($"{DevOverlay}/.gitignore", $"{ParameterSources.SecretFile}\n{ParameterSources.ConfigMapFile}\n"));
        files.Add(new YamlFile($"{DevOverlay}/{Kustomization.FileName}", [Overlay(options, resources, environment, parameters, used, connectionStrings: false)]));
        return files;
    }

    private static IEnumerable<KubernetesFile> Prod(PublishedGraph graph, PublishOptions options, ParameterSources parameters, OverlayEnvironment environment)
    {
        var files = new List<KubernetesFile>();
        var resources = new List<string> { "../../base" };
        var policies = new NetworkPolicies(graph, options).ExternalBackingServices().ToList();
        if (policies.Count > 0)
        {
            files.Add(new YamlFile($"{ProdOverlay}/network-policies.yaml", policies));
            resources.Add("network-policies.yaml");
        }
        files.AddRange(Patches(ProdOverlay, environment));
        files.AddRange(ParameterFiles(ProdOverlay, parameters, environment.Parameters));
        if (environment.ConnectionStrings.Count > 0)
        {
            files.Add(new TextFile($"{ProdOverlay}/{EnvironmentOverlays.ConnectionStringsFile}.example", ConnectionStringsTemplate(graph, environment.ConnectionStrings)));
        }
        files.Add(new TextFile($"{ProdOverlay}/.gitignore",
            $"{ParameterSources.SecretFile}\n{ParameterSources.ConfigMapFile}\n{EnvironmentOverlays.ConnectionStringsFile}\n"));
        files.Add(new YamlFile($"{ProdOverlay}/{Kustomization.FileName}", [Overlay(options, resources, environment, parameters, environment.Parameters, connectionStrings: true)]));
        return files;
    }

    private static IEnumerable<KubernetesFile> Patches(string overlay, OverlayEnvironment environment) =>
        environment.Patches.Select(p => new YamlFile($"{overlay}/{PatchFileName(p.Key)}", [p.Value]));

    private static string PatchFileName(string deployment) => $"{deployment}-environment.patch.yaml";

    private static Kustomization Overlay(PublishOptions options, List<string> resources, OverlayEnvironment environment, ParameterSources parameters, IReadOnlyList<string> used, bool connectionStrings)
    {
        var secrets = new List<KustomizeGenerator>();
        if (connectionStrings && environment.ConnectionStrings.Count > 0)
        {
            secrets.Add(new KustomizeGenerator { Name = EnvironmentOverlays.ConnectionStringsSecret, Envs = [EnvironmentOverlays.ConnectionStringsFile] });
        }
        if (used.Any(parameters.IsSecret))
        {
            secrets.Add(new KustomizeGenerator { Name = ParameterSources.SecretName, Envs = [ParameterSources.SecretFile] });
        }
        return new Kustomization
        {
            // Generated Secrets land in the namespace, and kustomize renames references to them only there.
            Namespace = options.Namespace,
            Resources = resources,
            Patches = environment.Patches.Count == 0 ? null : [.. environment.Patches.Select(p => new KustomizePatch { Path = PatchFileName(p.Key) })],
            SecretGenerator = secrets.Count == 0 ? null : secrets,
            ConfigMapGenerator = used.Any(p => !parameters.IsSecret(p))
                ? [new KustomizeGenerator { Name = ParameterSources.ConfigMapName, Envs = [ParameterSources.ConfigMapFile] }]
                : null,
        };
    }

    /// <summary>Templates of the env files kustomize reads: the keys, no values.</summary>
    private static IEnumerable<TextFile> ParameterFiles(string overlay, ParameterSources parameters, IReadOnlyList<string> used)
    {
        var secret = used.Where(parameters.IsSecret).ToList();
        if (secret.Count > 0)
        {
            yield return new TextFile($"{overlay}/{ParameterSources.SecretFile}.example",
                $"# The graph's secret parameters, for the Secret \"{ParameterSources.SecretName}\".\n" +
                $"# Copy this file to {ParameterSources.SecretFile} beside it and give every key a value, e.g. `openssl rand -hex 16`.\n" +
                $"# {ParameterSources.SecretFile} is read by `kubectl apply -k` and must never be committed (.gitignore lists it).\n" +
                string.Concat(secret.Select(p => $"{p}=\n")));
        }
        var plain = used.Where(p => !parameters.IsSecret(p)).ToList();
        if (plain.Count > 0)
        {
            yield return new TextFile($"{overlay}/{ParameterSources.ConfigMapFile}.example",
                $"# The graph's other parameters, for the ConfigMap \"{ParameterSources.ConfigMapName}\". Copy to {ParameterSources.ConfigMapFile} and fill in.\n" +
                string.Concat(plain.Select(p => $"{p}=\n")));
        }
    }

    private static string ConnectionStringsTemplate(PublishedGraph graph, IReadOnlyList<string> keys)
    {
        var text = new StringBuilder()
            .Append($"# Connection strings of the managed services, for the Secret \"{EnvironmentOverlays.ConnectionStringsSecret}\".\n")
            .Append($"# Copy this file to {EnvironmentOverlays.ConnectionStringsFile} beside it and fill in every key; never commit it. The forms:\n");
        foreach (var key in keys)
        {
            var example = graph.BackingServiceOf(key)!.Container.Kind switch
            {
                BackingServiceKind.Redis => "my-redis.example.com:6380,password=...,ssl=true",
                _ => graph.Get(key) is PublishedDatabase database
                    ? $"Host=my-postgres.example.com;Port=5432;Username=hyperion;Password=...;Database={database.DatabaseName};SSL Mode=Require"
                    : "Host=my-postgres.example.com;Port=5432;Username=hyperion;Password=...;SSL Mode=Require",
            };
            text.Append($"#   {key}={example}\n");
        }
        foreach (var key in keys)
        {
            text.Append($"{key}=\n");
        }
        return text.ToString();
    }

    /// <summary>Every pod in it must meet the "restricted" Pod Security Standard.</summary>
    private static V1Namespace Namespace(PublishOptions options) => new()
    {
        ApiVersion = "v1",
        Kind = "Namespace",
        Metadata = new V1ObjectMeta
        {
            Name = options.Namespace,
            Labels = new Dictionary<string, string>
            {
                ["pod-security.kubernetes.io/enforce"] = "restricted",
                ["pod-security.kubernetes.io/enforce-version"] = "latest",
                [KubernetesLabels.PartOf] = KubernetesLabels.Application,
                [KubernetesLabels.ManagedBy] = KubernetesLabels.Manager,
            },
        },
    };

    private static string Readme(PublishOptions options) =>
        $"""
        # Hyperion on Kubernetes

        Generated by `dotnet run --project Hyperion.AppHost -- publish` from the declared graph; see the
        repository's docs/kubernetes.md ("Deploying to Kubernetes") for the whole procedure. Images: `{options.ImageOf("<resource>")}`.

        - `base/`: the services (Deployments, Services, autoscaling, PodDisruptionBudgets), NetworkPolicies,
          the public Gateway and routes, ServiceMonitors, PrometheusRules, the Grafana dashboard, and the drift
          schedule as a suspended CronJob (`{DriftSchedule.Name}`; it needs the Secret `{DriftSchedule.SecretName}`).
        - `overlays/dev/`: Redis and PostgreSQL as StatefulSets in the namespace. Copy
          `{ParameterSources.SecretFile}.example` to `{ParameterSources.SecretFile}` and fill it in, then `kubectl apply -k overlays/dev`.
        - `overlays/prod/`: managed Redis and PostgreSQL. Copy `{EnvironmentOverlays.ConnectionStringsFile}.example` to
          `{EnvironmentOverlays.ConnectionStringsFile}` and fill it in, then `kubectl apply -k overlays/prod`.

        The cluster needs the Gateway API CRDs and a GatewayClass named `{options.GatewayClassName}`, KEDA, and the
        Prometheus Operator (Prometheus at {options.PrometheusUrl}).

        """;
}

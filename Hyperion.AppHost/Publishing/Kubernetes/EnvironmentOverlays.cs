using System.Text.RegularExpressions;
using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>What an overlay adds to the Deployments' environment, and the parameters and connection strings it needs.</summary>
/// <param name="Patches">Strategic-merge patches, one per Deployment that needs anything, keyed by the Deployment's name.</param>
internal sealed record OverlayEnvironment(
    IReadOnlyList<KeyValuePair<string, V1Deployment>> Patches,
    IReadOnlyList<string> Parameters,
    IReadOnlyList<string> ConnectionStrings);

/// <summary>
/// The variables that depend on where Redis and PostgreSQL live. In the dev overlay they are the graph's own
/// connection strings pointing at the in-cluster StatefulSets, passwords from the parameters' Secret. In the
/// prod overlay every <c>ConnectionStrings__X</c> comes whole from the Secret <see cref="ConnectionStringsSecret"/>
/// (managed services have their own hosts, ports, TLS settings).
/// </summary>
internal sealed partial class EnvironmentOverlays(PublishedGraph graph, PublishOptions options, KubernetesValues values, ParameterSources parameters)
{
    public const string ConnectionStringsSecret = "hyperion-connection-strings";
    public const string ConnectionStringsFile = "connection-strings.env";

    public OverlayEnvironment InCluster() => Build((name, expression, value, env, usedParameters, _) =>
    {
        AddParameterVariables(env, usedParameters, value.Parameters);
        env.Add(new V1EnvVar { Name = name, Value = value.Text });
    });

    public OverlayEnvironment Managed() => Build((name, expression, value, env, usedParameters, connectionStrings) =>
    {
        if (WholeConnectionString().Match(expression) is { Success: true } match && graph.BackingServiceOf(match.Groups["resource"].Value) is not null)
        {
            var key = match.Groups["resource"].Value;
            if (!connectionStrings.Contains(key))
            {
                connectionStrings.Add(key);
            }
            env.Add(new V1EnvVar
            {
                Name = name,
                ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = ConnectionStringsSecret, Key = key } },
            });
            return;
        }
        if (value.BackingServices.Count > 0)
        {
            throw new InvalidOperationException(
                $"'{name}' = '{expression}' points into {string.Join(", ", value.BackingServices)} other than by a whole connection string. " +
                "The prod overlay takes managed services only as whole connection strings (ConnectionStrings__<name> = {<name>.connectionString}): reference the resource with WithReference instead.");
        }
        AddParameterVariables(env, usedParameters, value.Parameters);
        env.Add(new V1EnvVar { Name = name, Value = value.Text });
    });

    private delegate void AddVariable(string name, string expression, ResolvedValue value, List<V1EnvVar> env, List<string> usedParameters, List<string> connectionStrings);

    private OverlayEnvironment Build(AddVariable add)
    {
        var patches = new List<KeyValuePair<string, V1Deployment>>();
        var usedParameters = new List<string>();
        var connectionStrings = new List<string>();
        foreach (var project in graph.Projects)
        {
            var env = new List<V1EnvVar>();
            var projectParameters = new List<string>();
            foreach (var (name, expression) in project.Environment)
            {
                var value = values.Resolve(expression);
                if (!value.IsPlain)
                {
                    add(name, expression, value, env, projectParameters, connectionStrings);
                }
            }
            foreach (var parameter in projectParameters.Where(p => !usedParameters.Contains(p)))
            {
                usedParameters.Add(parameter);
            }
            if (env.Count == 0)
            {
                continue;
            }
            foreach (var deployment in ProjectWorkloads.DeploymentsOf(project))
            {
                patches.Add(new(deployment.Name, Patch(deployment, env)));
            }
        }
        return new OverlayEnvironment(patches, usedParameters, connectionStrings);
    }

    /// <summary>Each <c>PARAM_…</c> variable once, before the first value that refers to it (Kubernetes expands only earlier ones).</summary>
    private void AddParameterVariables(List<V1EnvVar> env, List<string> used, IReadOnlyList<string> needed)
    {
        var missing = needed.Where(p => !used.Contains(p)).ToList();
        env.AddRange(parameters.VariablesFor(missing));
        used.AddRange(missing);
    }

    /// <summary>Only what is added: kustomize merges the container by name and the variables by name.</summary>
    private V1Deployment Patch(ProjectDeployment deployment, List<V1EnvVar> env) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "Deployment",
        Metadata = new V1ObjectMeta { Name = deployment.Name, NamespaceProperty = options.Namespace },
        Spec = new V1DeploymentSpec
        {
            Template = new V1PodTemplateSpec
            {
                Spec = new V1PodSpec { Containers = [new V1Container { Name = deployment.Project.Name, Env = env }] },
            },
        },
    };

    [GeneratedRegex(@"^\{(?<resource>[a-z][a-z0-9-]*)\.connectionString\}$")]
    private static partial Regex WholeConnectionString();
}

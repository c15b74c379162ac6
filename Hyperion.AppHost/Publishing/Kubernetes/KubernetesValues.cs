using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>
/// A manifest expression resolved for this Kubernetes tree: service names and ports are literal, and each
/// parameter is a <c>$(PARAM_…)</c> reference to a variable that the pod takes from the parameters' Secret,
/// so no secret value is ever written.
/// </summary>
/// <param name="Parameters">Parameters the value needs, in the order they first appear.</param>
/// <param name="BackingServices">Backing services (Redis, PostgreSQL) it points at: those exist only in the dev overlay.</param>
internal sealed record ResolvedValue(string Text, IReadOnlyList<string> Parameters, IReadOnlyList<string> BackingServices)
{
    /// <summary>The same in every environment: belongs in the base.</summary>
    public bool IsPlain => Parameters.Count == 0 && BackingServices.Count == 0;
}

/// <summary>Resolves the graph's manifest expressions the way the Kubernetes tree deploys it.</summary>
internal sealed partial class KubernetesValues(PublishedGraph graph)
{
    public const string ParameterVariablePrefix = "PARAM_";

    /// <summary>The pod variable that carries a parameter (from the Secret or ConfigMap of parameters).</summary>
    public static string ParameterVariable(string parameter) =>
        ParameterVariablePrefix + parameter.ToUpperInvariant().Replace('-', '_');

    public ResolvedValue Resolve(string expression)
    {
        var parameters = new List<string>();
        var services = new List<string>();
        var text = Resolve(expression, parameters, services, depth: 0);
        return new ResolvedValue(text, parameters, services);
    }

    private string Resolve(string expression, List<string> parameters, List<string> services, int depth)
    {
        if (depth > 8)
        {
            throw new InvalidOperationException($"The expression '{expression}' refers to itself.");
        }
        var result = new StringBuilder();
        var last = 0;
        foreach (Match match in Placeholder().Matches(expression))
        {
            // Kubernetes reads $(NAME) in a value as a variable: literal text must not be taken for one.
            result.Append(expression[last..match.Index].Replace("$(", "$$(", StringComparison.Ordinal));
            result.Append(ResolvePlaceholder(match.Groups["resource"].Value, match.Groups["path"].Value, parameters, services, depth));
            last = match.Index + match.Length;
        }
        result.Append(expression[last..].Replace("$(", "$$(", StringComparison.Ordinal));
        return result.ToString();
    }

    private string ResolvePlaceholder(string name, string path, List<string> parameters, List<string> services, int depth)
    {
        var resource = graph.Get(name);
        switch (resource, path.Split('.'))
        {
            case (PublishedParameter parameter, ["value"]):
                AddOnce(parameters, parameter.Name);
                return $"$({ParameterVariable(parameter.Name)})";
            case (PublishedBackingService service, ["connectionString"]):
                AddOnce(services, service.Name);
                return Resolve(service.ConnectionStringExpression, parameters, services, depth + 1);
            case (PublishedValue value, ["connectionString"]):
                return Resolve(value.Expression, parameters, services, depth + 1);
            case (PublishedDatabase database, ["connectionString"]):
                AddOnce(services, database.Server);
                return Resolve(database.ConnectionStringExpression, parameters, services, depth + 1);
            case (PublishedProject project, ["bindings", var endpoint, var property]):
                return BindingValue(project.Name, project.Bindings, endpoint, property);
            case (PublishedBackingService service, ["bindings", var endpoint, var property]):
                AddOnce(services, service.Name);
                return BindingValue(service.Name, service.Bindings, endpoint, property);
            default:
                throw new InvalidOperationException($"'{{{name}.{path}}}' cannot be resolved for Kubernetes: '{name}' is a {resource.GetType().Name} with no '{path}'.");
        }
    }

    /// <summary>A Service is named after its resource and listens on the binding's port, so the host is the name.</summary>
    private static string BindingValue(string resource, IReadOnlyList<PublishedBinding> bindings, string endpoint, string property)
    {
        var binding = bindings.FirstOrDefault(b => b.Name == endpoint)
            ?? throw new InvalidOperationException($"'{resource}' has no endpoint '{endpoint}'; it has: {string.Join(", ", bindings.Select(b => b.Name))}.");
        return property switch
        {
            "url" => $"{binding.Scheme}://{resource}:{binding.ServicePort.ToString(CultureInfo.InvariantCulture)}",
            "host" => resource,
            "port" => binding.ServicePort.ToString(CultureInfo.InvariantCulture),
            "targetPort" => binding.TargetPort.ToString(CultureInfo.InvariantCulture),
            "scheme" => binding.Scheme,
            _ => throw new InvalidOperationException($"Endpoint '{endpoint}' of '{resource}' has no property '{property}' (url, host, port, targetPort, scheme)."),
        };
    }

    private static void AddOnce(List<string> list, string item)
    {
        if (!list.Contains(item))
        {
            list.Add(item);
        }
    }

    [GeneratedRegex(@"\{(?<resource>[a-z][a-z0-9-]*)\.(?<path>[A-Za-z0-9.]+)\}")]
    private static partial Regex Placeholder();
}

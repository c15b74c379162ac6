namespace Hyperion.AppHost.Hosting;

/// <summary>
/// Aspire's manifest expressions: placeholders such as <c>{cache.connectionString}</c> that stand for a
/// value only a deployment knows. In publish mode the graph's environment is built from these instead
/// of local ports and secrets, and each deployment target resolves them its own way.
/// </summary>
public static class ManifestExpressions
{
    public static string ConnectionString(IResource resource) => $"{{{resource.Name}.connectionString}}";

    public static string ParameterValue(ParameterResource parameter) => $"{{{parameter.Name}.value}}";

    /// <summary>The URL other resources reach the endpoint at.</summary>
    public static string EndpointUrl(IResource resource, EndpointAnnotation endpoint) => Binding(resource, endpoint, "url");

    public static string EndpointHost(IResource resource, EndpointAnnotation endpoint) => Binding(resource, endpoint, "host");

    /// <summary>The port other resources reach the endpoint at.</summary>
    public static string EndpointPort(IResource resource, EndpointAnnotation endpoint) => Binding(resource, endpoint, "port");

    /// <summary>The port the resource's own process listens on.</summary>
    public static string TargetPort(IResource resource, EndpointAnnotation endpoint) => Binding(resource, endpoint, "targetPort");

    private static string Binding(IResource resource, EndpointAnnotation endpoint, string property) =>
        $"{{{resource.Name}.bindings.{endpoint.Name}.{property}}}";
}

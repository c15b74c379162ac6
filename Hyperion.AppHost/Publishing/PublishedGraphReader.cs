using Hyperion.AppHost.Hosting;

namespace Hyperion.AppHost.Publishing;

/// <summary>
/// Reads a graph declared in publish mode into a <see cref="PublishedGraph"/>. Environment callbacks run as
/// they do at launch, with manifest expressions where a running graph has ports and secrets, so whatever
/// the graph declares (a new variable, a new endpoint, a new reference) is published without a line here.
/// </summary>
internal static class PublishedGraphReader
{
    /// <summary>Where a project's container serves its "http" endpoint: the .NET images' ASPNETCORE_HTTP_PORTS.</summary>
    public const int ProjectHttpPort = 8080;

    public static PublishedGraph Read(IDistributedApplicationBuilder builder)
    {
        if (!builder.Context.IsPublishMode)
        {
            throw new InvalidOperationException("The graph was declared to run, not to publish: create the builder with IsPublishMode.");
        }
        // The same checks as a run: a WaitFor cycle is as wrong on a cluster as on a laptop.
        GraphOrder.Sort(builder.Resources);
        foreach (var parameter in builder.Resources.OfType<ParameterResource>())
        {
            // A callback that reads a parameter gets its expression, never a locally generated secret.
            parameter.Value = ManifestExpressions.ParameterValue(parameter);
        }

        var resources = builder.Resources.Select<IResource, PublishedResource>(resource => resource switch
        {
            ParameterResource parameter => new PublishedParameter(parameter.Name, parameter.Secret),
            ProjectResource project => ReadProject(project, builder.Context),
            RedisResource or PostgresServerResource => ReadBackingService((ProcessResource)resource, builder.Resources),
            PostgresDatabaseResource database => new PublishedDatabase(database.Name, database.DatabaseName, database.Server.Name, database.ConnectionStringExpression),
            _ => throw new InvalidOperationException(
                $"'{resource.Name}' ({resource.GetType().Name}) cannot be published: containers are made of projects, Redis, PostgreSQL and parameters. " +
                "Run it as a project of the solution, or leave it out of the published graph."),
        }).ToList();
        return new PublishedGraph(resources);
    }

    private static PublishedProject ReadProject(ProjectResource project, HostingContext context)
    {
        // The first endpoint keeps the images' default port; any other one takes the next free port after it.
        var taken = new HashSet<int> { ProjectHttpPort };
        var nextPort = ProjectHttpPort + 1;
        var bindings = new List<PublishedBinding>();
        foreach (var endpoint in project.Endpoints)
        {
            int targetPort;
            if (endpoint.Name == "http")
            {
                targetPort = ProjectHttpPort;
            }
            else
            {
                while (!taken.Add(nextPort))
                {
                    nextPort++;
                }
                targetPort = nextPort;
            }
            bindings.Add(ToBinding(endpoint, targetPort));
        }

        var environment = project.BuildEnvironment(context, replica: 0).ToList();
        return new PublishedProject(
            project.Name,
            project.Metadata.ProjectPath,
            project.Replicas,
            environment,
            bindings,
            [.. project.References.Select(r => r.Name)]);
    }

    private static PublishedBackingService ReadBackingService(ProcessResource resource, IReadOnlyList<IResource> all)
    {
        var container = BackingServiceContainers.For(resource);
        var endpoint = resource.Endpoints.Single();
        return new PublishedBackingService(
            resource.Name,
            container,
            ((IResourceWithConnectionString)resource).ConnectionStringExpression,
            [ToBinding(endpoint, container.Port)],
            [.. all.OfType<PostgresDatabaseResource>().Where(d => d.Server == resource).Select(d => d.Name)]);
    }

    private static PublishedBinding ToBinding(EndpointAnnotation endpoint, int targetPort) => new(
        endpoint.Name,
        endpoint.Scheme,
        endpoint.Transport,
        targetPort,
        endpoint.Port is > 0 and var port ? port : null,
        endpoint.IsExternal);
}

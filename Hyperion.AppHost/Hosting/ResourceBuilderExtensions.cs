namespace Hyperion.AppHost.Hosting;

/// <summary>The fluent API the graph is declared with; names and meaning follow Aspire's.</summary>
public static class ResourceBuilderExtensions
{
    /// <summary>
    /// Gives <paramref name="builder"/> what it needs to reach <paramref name="source"/>:
    /// <c>ConnectionStrings__&lt;name&gt;</c> for a database or cache, <c>services__&lt;name&gt;__&lt;endpoint&gt;__&lt;replica&gt;</c>
    /// for a service (read by Microsoft.Extensions.ServiceDiscovery).
    /// </summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> source) where T : ProcessResource
    {
        if (source.Resource is not (IResourceWithConnectionString or IResourceWithEndpoints))
        {
            throw new InvalidOperationException($"'{source.Resource.Name}' has neither a connection string nor endpoints to reference.");
        }
        if (!builder.Resource.References.Contains(source.Resource))
        {
            builder.Resource.References.Add(source.Resource);
        }
        return builder;
    }

    /// <summary>Starts <paramref name="builder"/> only once <paramref name="dependency"/> reports healthy.</summary>
    public static IResourceBuilder<T> WaitFor<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> dependency) where T : Resource
    {
        if (!builder.Resource.WaitDependencies.Contains(dependency.Resource))
        {
            builder.Resource.WaitDependencies.Add(dependency.Resource);
        }
        return builder;
    }

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, string value) where T : ProcessResource =>
        builder.WithEnvironment(context => context.EnvironmentVariables[name] = value);

    /// <summary>Runs for each replica at each launch; the context knows the replica and its endpoints.</summary>
    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, Action<EnvironmentCallbackContext> callback) where T : ProcessResource
    {
        builder.Resource.EnvironmentCallbacks.Add(callback);
        return builder;
    }

    public static IResourceBuilder<T> WithArgs<T>(this IResourceBuilder<T> builder, params string[] args) where T : ProcessResource
    {
        builder.Resource.ExtraArgs.AddRange(args);
        return builder;
    }

    /// <summary>
    /// Adds an HTTP endpoint (h2c too: the scheme says how to reach it, not which HTTP version).
    /// A port of null or 0 means any free port; <paramref name="env"/> receives the port number.
    /// </summary>
    public static IResourceBuilder<T> WithHttpEndpoint<T>(this IResourceBuilder<T> builder, int? port = null, string name = "http", string? env = null) where T : ProcessResource
    {
        builder.Resource.AddEndpoint(new EndpointAnnotation(name, "http", port) { PortEnvironmentVariable = env });
        return builder;
    }

    /// <summary>Changes an endpoint already declared (the "http" endpoint every project has, say its port).</summary>
    public static IResourceBuilder<T> WithEndpoint<T>(this IResourceBuilder<T> builder, string endpointName, Action<EndpointAnnotation> configure) where T : ProcessResource
    {
        configure(builder.Resource.GetEndpoint(endpointName));
        return builder;
    }

    /// <summary>Marks the HTTP endpoints as public: the gateway's, the only way in from outside.</summary>
    public static IResourceBuilder<T> WithExternalHttpEndpoints<T>(this IResourceBuilder<T> builder) where T : ProcessResource
    {
        foreach (var endpoint in builder.Resource.Endpoints.Where(e => e.Scheme is "http" or "https"))
        {
            endpoint.IsExternal = true;
        }
        return builder;
    }

    public static IResourceBuilder<T> WithReplicas<T>(this IResourceBuilder<T> builder, int replicas) where T : ProcessResource
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        builder.Resource.Replicas = replicas;
        return builder;
    }

    /// <summary>Healthy when GET &lt;path&gt; on the "http" endpoint answers 200.</summary>
    public static IResourceBuilder<ExecutableResource> WithHttpHealthCheck(this IResourceBuilder<ExecutableResource> builder, string path = "/health")
    {
        builder.Resource.HttpHealthPath = path;
        return builder;
    }

    /// <summary>Healthy when <paramref name="check"/> answers true; probed until it does, then every few seconds.</summary>
    public static IResourceBuilder<ExecutableResource> WithHealthCheck(this IResourceBuilder<ExecutableResource> builder, Func<ReplicaContext, CancellationToken, Task<bool>> check)
    {
        builder.Resource.CustomHealthCheck = check;
        return builder;
    }
}

/// <summary>AddProject, AddExecutable, AddParameter.</summary>
public static class ResourceFactoryExtensions
{
    public static IResourceBuilder<ProjectResource> AddProject<TProject>(this IDistributedApplicationBuilder builder, string name) where TProject : IProjectMetadata, new() =>
        builder.AddResource(new ProjectResource(name, new TProject())).WithHttpEndpoint();

    public static IResourceBuilder<ExecutableResource> AddExecutable(this IDistributedApplicationBuilder builder, string name, string command, string workingDirectory, params string[] args) =>
        builder.AddResource(new ExecutableResource(name, command, workingDirectory, args));

    /// <summary>A secret generated on first run and kept in &lt;state&gt;/secrets.json.</summary>
    public static IResourceBuilder<ParameterResource> AddParameter(this IDistributedApplicationBuilder builder, string name, bool secret = true) =>
        builder.AddResource(new ParameterResource(name, secret));
}

/// <summary>AddRedis, AddPostgres, AddDatabase.</summary>
public static class DataResourceExtensions
{
    public static IResourceBuilder<RedisResource> AddRedis(this IDistributedApplicationBuilder builder, string name, int? port = null)
    {
        var password = builder.AddParameter($"{name}-password");
        var redis = builder.AddResource(new RedisResource(name, password.Resource));
        redis.Resource.AddEndpoint(new EndpointAnnotation("tcp", "tcp", port));
        return redis;
    }

    public static IResourceBuilder<PostgresServerResource> AddPostgres(this IDistributedApplicationBuilder builder, string name, int? port = null)
    {
        var password = builder.AddParameter($"{name}-password");
        var postgres = builder.AddResource(new PostgresServerResource(name, password.Resource));
        postgres.Resource.AddEndpoint(new EndpointAnnotation("tcp", "tcp", port));
        return postgres;
    }

    /// <summary>A database created on the server when it first starts; services get its connection string under <paramref name="name"/>.</summary>
    public static IResourceBuilder<PostgresDatabaseResource> AddDatabase(this IResourceBuilder<PostgresServerResource> builder, string name, string? databaseName = null)
    {
        databaseName ??= name;
        if (!(databaseName.Length > 0 && (char.IsAsciiLetter(databaseName[0]) || databaseName[0] == '_')
              && databaseName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')))
        {
            throw new ArgumentException($"Database name '{databaseName}' is invalid: use letters, digits and '_', starting with a letter or '_'.", nameof(databaseName));
        }
        var database = builder.ApplicationBuilder.AddResource(new PostgresDatabaseResource(name, databaseName, builder.Resource));
        builder.Resource.Databases.Add(database.Resource);
        return database;
    }
}

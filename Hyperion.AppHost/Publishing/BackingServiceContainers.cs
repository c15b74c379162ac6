using Hyperion.AppHost.Hosting;

namespace Hyperion.AppHost.Publishing;

internal enum BackingServiceKind
{
    Redis,
    PostgreSql,
}

/// <summary>
/// The container that plays a backing service where no managed one is used (Aspire's container.v0, the dev
/// overlay's StatefulSets). <see cref="Environment"/> values are manifest expressions, as in the manifest.
/// </summary>
internal sealed record BackingServiceContainer(
    BackingServiceKind Kind,
    string Image,
    string? Entrypoint,
    IReadOnlyList<string> Args,
    IReadOnlyList<KeyValuePair<string, string>> Environment,
    int Port,
    string DataPath);

/// <summary>
/// Which public image runs each kind of backing service, and how it is told its password. The local graph
/// runs the machine's redis-server and PostgreSQL 15, so the images carry the same major versions.
/// </summary>
internal static class BackingServiceContainers
{
    public const string RedisImage = "docker.io/library/redis:7.4";
    public const string PostgresImage = "docker.io/library/postgres:15";

    public static BackingServiceContainer For(ProcessResource resource) => resource switch
    {
        RedisResource redis => Redis(redis),
        PostgresServerResource postgres => Postgres(postgres),
        _ => throw new InvalidOperationException($"'{resource.Name}' ({resource.GetType().Name}) has no container to publish as."),
    };

    private static BackingServiceContainer Redis(RedisResource redis) => new(
        BackingServiceKind.Redis,
        RedisImage,
        Entrypoint: "/bin/sh",
        // An empty password would start Redis with no authentication at all: refuse, and say which parameter is missing.
        Args:
        [
            "-c",
            $"[ -n \"$REDIS_PASSWORD\" ] || {{ echo 'REDIS_PASSWORD is empty: give the {redis.Password.Name} parameter a value' >&2; exit 1; }}; " +
            "exec redis-server --requirepass \"$REDIS_PASSWORD\" --appendonly yes --dir /data",
        ],
        Environment: [new("REDIS_PASSWORD", ManifestExpressions.ParameterValue(redis.Password))],
        Port: 6379,
        DataPath: "/data");

    private static BackingServiceContainer Postgres(PostgresServerResource postgres) => new(
        BackingServiceKind.PostgreSql,
        PostgresImage,
        Entrypoint: null,
        Args: [],
        Environment:
        [
            new("POSTGRES_HOST_AUTH_METHOD", "scram-sha-256"),
            new("POSTGRES_INITDB_ARGS", "--auth-host=scram-sha-256 --auth-local=scram-sha-256"),
            new("POSTGRES_USER", PostgresServerResource.UserName),
            new("POSTGRES_PASSWORD", ManifestExpressions.ParameterValue(postgres.Password)),
            // A volume's root may hold lost+found, which initdb refuses: the cluster lives one folder down.
            new("PGDATA", "/var/lib/postgresql/data/pgdata"),
        ],
        Port: 5432,
        DataPath: "/var/lib/postgresql/data");
}

namespace Hyperion.AppHost.Publishing;

internal enum BackingServiceKind
{
    Redis,
    PostgreSql,
}

/// <summary>
/// The container that plays a backing service where no managed one is used (Aspire's container.v0, the dev
/// overlay's StatefulSets), as Aspire's manifest describes it: <see cref="Environment"/> values are manifest expressions.
/// </summary>
internal sealed record BackingServiceContainer(
    BackingServiceKind Kind,
    string Image,
    string? Entrypoint,
    IReadOnlyList<string> Args,
    IReadOnlyList<KeyValuePair<string, string>> Environment,
    int Port,
    string DataPath);

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Connection strings as Aspire passes them (<c>ConnectionStrings__&lt;name&gt;</c>), checked while the service starts.
/// Aspire's client integrations check theirs only when the client is first created, and name the configuration key
/// (<c>ConnectionStrings:&lt;name&gt;</c>) rather than the variable someone running a service alone has to set.
/// </summary>
public static class ConnectionStrings
{
    /// <summary>Throws when <paramref name="connectionString"/> (what the integration read for <paramref name="name"/>) is missing or blank.</summary>
    /// <param name="example">The form the value takes, for the message.</param>
    public static void Require(string? connectionString, string name, string example)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings__{name} is not set. Run the service through the AppHost, or set ConnectionStrings__{name}={example}");
        }
    }
}

namespace Hyperion.AppHost;

/// <summary>
/// Where the Aspire dashboard listens when nothing else says (the launch profile does for <c>dotnet run</c> and
/// <c>dotnet aspire run</c>; <c>./build.sh run</c> starts the built AppHost, which has no profile): plain HTTP on
/// loopback, since these machines have no developer certificate. A variable set in the environment wins.
/// </summary>
internal static class LocalDashboard
{
    public const string Url = "http://127.0.0.1:18888";
    public const string OtlpUrl = "http://127.0.0.1:18889";

    private static readonly (string Name, string Value)[] s_defaults =
    [
        ("ASPNETCORE_URLS", Url),
        ("ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL", OtlpUrl),
        ("ASPIRE_ALLOW_UNSECURED_TRANSPORT", "true"),
    ];

    public static string[] WithDefaults(string[] args) =>
    [
        .. s_defaults
            .Where(d => string.IsNullOrEmpty(Environment.GetEnvironmentVariable(d.Name)) && !args.Any(a => a.StartsWith($"--{d.Name}", StringComparison.Ordinal)))
            .Select(d => $"--{d.Name}={d.Value}"),
        .. args,
    ];
}

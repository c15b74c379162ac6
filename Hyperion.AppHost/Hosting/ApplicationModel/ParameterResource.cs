namespace Hyperion.AppHost.Hosting;

/// <summary>
/// A value the graph needs but no one should hard-code, like Aspire's parameters. Secret parameters
/// are generated once and kept in the state directory's secrets.json, so a restart reuses them.
/// </summary>
public sealed class ParameterResource(string name, bool secret) : Resource(name)
{
    private string? _value;

    public bool Secret { get; } = secret;

    public string Value
    {
        get => _value ?? throw new InvalidOperationException($"Parameter '{Name}' has no value yet: parameters are resolved when the application is built.");
        internal set => _value = value;
    }
}

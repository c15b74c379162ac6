using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What an options validator found wrong: every failure, not the first (as YARP's ConfigValidator reports), each
/// naming its configuration path, what was expected and what was given, e.g.
/// <c>Gateway:RateLimiting:Default:Burst must be between 1 and 10000000, got 0.</c>
/// </summary>
/// <remarks>
/// The range checks take the section and the property (<c>failures.Range("Gateway:Auth", auth.KeyCacheSeconds, 1, 3600)</c>):
/// the setting's name is the property's own, taken from the expression, so a renamed property renames its message.
/// </remarks>
public sealed class OptionsFailures
{
    private readonly List<string> _failures = [];

    /// <summary>A failure in words of its own; it names the setting's path.</summary>
    public void Add(string failure) => _failures.Add(failure);

    public void Range(string section, long value, long min, long max, [CallerArgumentExpression(nameof(value))] string property = "")
    {
        if (value < min || value > max)
        {
            Add($"{Path(section, property)} must be between {Format(min)} and {Format(max)}, got {Format(value)}.");
        }
    }

    public void Range(string section, double value, double min, double max, [CallerArgumentExpression(nameof(value))] string property = "")
    {
        if (!(value >= min && value <= max))
        {
            Add($"{Path(section, property)} must be between {Format(min)} and {Format(max)}, got {Format(value)}.");
        }
    }

    public void AtLeast(string section, long value, long min, [CallerArgumentExpression(nameof(value))] string property = "")
    {
        if (value < min)
        {
            Add($"{Path(section, property)} must be at least {Format(min)}, got {Format(value)}.");
        }
    }

    public ValidateOptionsResult Result() => _failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_failures);

    /// <summary><c>Section:Property</c> from the section and the expression that read the property (<c>options.Auth.KeyCacheSeconds</c>).</summary>
    private static string Path(string section, string property)
    {
        var name = property.AsSpan().TrimEnd(" !").ToString();
        return $"{section}:{name[(name.LastIndexOf('.') + 1)..]}";
    }

    private static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}

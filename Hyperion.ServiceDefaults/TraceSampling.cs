using System.Globalization;
using Microsoft.Extensions.Configuration;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Head sampling for every trace a service records, set with OpenTelemetry's standard variables.
/// </summary>
/// <remarks>
/// <para>
/// The OpenTelemetry .NET SDK reads <c>OTEL_TRACES_SAMPLER</c> and <c>OTEL_TRACES_SAMPLER_ARG</c> itself (from
/// <see cref="IConfiguration"/>, so environment variables, appsettings and the command line alike), with the
/// specification's values: <c>always_on</c>, <c>always_off</c>, <c>traceidratio</c>, <c>parentbased_always_on</c>,
/// <c>parentbased_always_off</c>, <c>parentbased_traceidratio</c>. When <c>OTEL_TRACES_SAMPLER</c> is set, the SDK
/// builds that sampler and Hyperion sets none in code.
/// </para>
/// <para>
/// Only the default differs: the SDK's is <c>parentbased_always_on</c> (every request a trace), which under the
/// AppHost, where OTLP always goes to the dashboard, would put span recording on the gateway's path for every
/// request. Hyperion's default is <c>parentbased_traceidratio</c> with <c>OTEL_TRACES_SAMPLER_ARG</c> as the ratio
/// (<see cref="DefaultRatio"/> when unset): a request whose caller sent a sampled <c>traceparent</c> is traced end
/// to end, one whose caller sent an unsampled one is not, and of the traces a service starts itself one in ten is
/// kept. <c>OTEL_TRACES_SAMPLER_ARG=1</c> keeps them all; <c>OTEL_TRACES_SAMPLER=parentbased_always_off</c>
/// records only what callers asked for.
/// </para>
/// <para>
/// A setting the SDK would ignore (it only writes an EventSource warning) stops start-up here instead, with the
/// values it accepts.
/// </para>
/// </remarks>
public static class TraceSampling
{
    public const string SamplerKey = "OTEL_TRACES_SAMPLER";
    public const string SamplerArgKey = "OTEL_TRACES_SAMPLER_ARG";

    /// <summary>The share of the traces a service starts itself that it keeps, unless <c>OTEL_TRACES_SAMPLER_ARG</c> says otherwise.</summary>
    public const double DefaultRatio = 0.1;

    private static readonly string[] SdkSamplers =
        ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"];

    /// <summary>
    /// The sampler to set in code: <c>ParentBased(TraceIdRatioBased(ratio))</c> when <c>OTEL_TRACES_SAMPLER</c> is unset,
    /// <see langword="null"/> when it is set (the SDK builds the sampler it names).
    /// </summary>
    /// <exception cref="InvalidOperationException">Either setting has a value the SDK does not accept.</exception>
    public static Sampler? FromConfiguration(IConfiguration configuration)
    {
        var ratio = ReadRatio(configuration[SamplerArgKey]);
        var sampler = configuration[SamplerKey];
        if (string.IsNullOrWhiteSpace(sampler))
        {
            return new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio ?? DefaultRatio));
        }
        if (!SdkSamplers.Contains(sampler.Trim(), StringComparer.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"{SamplerKey} is '{sampler}'; expected one of {string.Join(", ", SdkSamplers)}, or unset for parentbased_traceidratio with {SamplerArgKey} (default {DefaultRatio.ToString(CultureInfo.InvariantCulture)}).");
        }
        return null;
    }

    private static double? ReadRatio(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var ratio) && ratio is >= 0 and <= 1)
        {
            return ratio;
        }
        throw new InvalidOperationException(
            $"{SamplerArgKey} is '{value}'; expected the share of traces to keep, a number from 0 to 1 such as 0.1 (with '.' as the decimal separator).");
    }
}

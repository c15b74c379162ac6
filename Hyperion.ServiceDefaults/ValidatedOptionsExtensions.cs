using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The one way a service takes settings: an options class bound from its configuration section, checked by one
/// <see cref="IValidateOptions{TOptions}"/> that reports every failure with its path (<see cref="OptionsFailures"/>),
/// validated when the host starts, and injected as <see cref="IOptions{TOptions}"/>:
/// <code>
/// services.AddValidatedOptions&lt;RegistryOptions, RegistryOptionsValidator&gt;(configuration, RegistryOptions.SectionName);
/// </code>
/// A bad setting stops the start with an <see cref="OptionsValidationException"/> that lists them all.
/// </summary>
public static class ValidatedOptionsExtensions
{
    /// <summary>Binds <typeparamref name="TOptions"/> from <paramref name="sectionName"/> and validates it with <typeparamref name="TValidator"/> at start-up.</summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, IConfiguration configuration, string sectionName)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions> =>
        services.AddValidatedOptions<TOptions, TValidator>().Bind(configuration.GetSection(sectionName));

    /// <summary>The same without binding, for options that bind themselves (<c>.Configure(...)</c> on the result).</summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return services.AddOptions<TOptions>().ValidateOnStart();
    }

    /// <summary>
    /// A setting needed before the host is built (Kestrel's listeners, a variable the runtime reads once): the section
    /// bound to the same options class and checked by the same validator as <see cref="AddValidatedOptions{TOptions, TValidator}(IServiceCollection, IConfiguration, string)"/>,
    /// so a bad value stops the start here with the same <see cref="OptionsValidationException"/> instead of falling
    /// back to a default.
    /// </summary>
    public static TOptions GetValidatedOptions<TOptions, TValidator>(this IConfiguration configuration, string sectionName)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>, new()
    {
        var factory = new OptionsFactory<TOptions>(
            [new NamedConfigureFromConfigurationOptions<TOptions>(Options.Options.DefaultName, configuration.GetSection(sectionName))],
            [],
            [new TValidator()]);
        return factory.Create(Options.Options.DefaultName);
    }
}

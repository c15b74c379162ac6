using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Hyperion.AppHost.Hosting;

internal sealed class DistributedApplicationBuilder : IDistributedApplicationBuilder
{
    private readonly List<IResource> _resources = [];
    private readonly List<(string Label, string Value)> _notes = [];
    private readonly List<HealthyHook> _healthyHooks = [];
    private readonly ILoggerFactory _loggerFactory;
    private readonly bool _ownsLoggerFactory;

    public DistributedApplicationBuilder(DistributedApplicationOptions options)
    {
        Configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(options.Args)
            .AddInMemoryCollection(options.Settings)
            .Build();

        var hosting = new HostingOptions();
        Configuration.GetSection(HostingOptions.SectionName).Bind(hosting);
        Validate(hosting, HostingOptions.SectionName);

        _ownsLoggerFactory = options.LoggerFactory is null;
        _loggerFactory = options.LoggerFactory ?? Microsoft.Extensions.Logging.LoggerFactory.Create(logging => logging
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss ";
            })
            .SetMinimumLevel(LogLevel.Information));
        Context = new HostingContext(hosting, Configuration, _loggerFactory, options.IsPublishMode);
    }

    public IConfiguration Configuration { get; }

    public HostingContext Context { get; }

    public IReadOnlyList<IResource> Resources => _resources;

    public IResourceBuilder<T> AddResource<T>(T resource) where T : IResource
    {
        if (!ResourceNames.IsValid(resource.Name))
        {
            throw new ArgumentException($"Resource name '{resource.Name}' is invalid: use lower-case letters, digits and '-', starting with a letter (it becomes part of environment variable names and DNS names).", nameof(resource));
        }
        if (_resources.Any(r => string.Equals(r.Name, resource.Name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException($"A resource named '{resource.Name}' is already declared.");
        }
        _resources.Add(resource);
        return CreateResourceBuilder(resource);
    }

    public IResourceBuilder<T> CreateResourceBuilder<T>(T resource) where T : IResource => new ResourceBuilder<T>(resource, this);

    public void AddStartupNote(string label, string value) => _notes.Add((label, value));

    public void OnHealthy(string description, Func<DistributedApplication, CancellationToken, Task> callback) =>
        _healthyHooks.Add(new HealthyHook(description, callback));

    public DistributedApplication Build()
    {
        var ordered = GraphOrder.Sort(_resources);
        foreach (var parameter in _resources.OfType<ParameterResource>())
        {
            parameter.Value = Context.Secrets.GetOrCreate(parameter.Name);
        }
        AllocatePorts();
        return new DistributedApplication(ordered, Context, _notes, _healthyHooks, _loggerFactory, _ownsLoggerFactory);
    }

    private void AllocatePorts()
    {
        foreach (var resource in _resources.OfType<ProcessResource>())
        {
            foreach (var endpoint in resource.Endpoints)
            {
                if (endpoint.Port is > 0 and var port)
                {
                    if (!PortAllocator.IsFree(port))
                    {
                        throw new InvalidOperationException($"Port {port} for '{resource.Name}' ({endpoint.Name}) is in use. Stop what uses it (ss -ltnp 'sport = :{port}') or choose another port.");
                    }
                    // With replicas, the first keeps the well-known port (what users type) and the others get free ones.
                    endpoint.AllocatedPorts = [port, .. Enumerable.Range(1, resource.Replicas - 1).Select(_ => PortAllocator.Allocate())];
                }
                else
                {
                    endpoint.AllocatedPorts = Enumerable.Range(0, resource.Replicas).Select(_ => PortAllocator.Allocate()).ToArray();
                }
            }
        }
    }

    internal static void Validate(object options, string section)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            throw new InvalidOperationException($"Invalid settings in section '{section}': {string.Join("; ", results.Select(r => r.ErrorMessage))}");
        }
    }
}

internal static class ResourceNames
{
    public static bool IsValid(string name) =>
        name.Length is > 0 and <= 63
        && char.IsAsciiLetterLower(name[0])
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}

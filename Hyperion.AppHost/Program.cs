using Hyperion.AppHost;
using Hyperion.AppHost.Publishing;

if (args is [PublishArguments.Verb, .. var publishArgs])
{
    if (publishArgs is ["--help" or "-h"])
    {
        Console.WriteLine(PublishArguments.Usage);
        return 0;
    }
    var (translated, error) = PublishArguments.Translate(publishArgs);
    if (translated is null)
    {
        Console.Error.WriteLine(error);
        Console.Error.WriteLine(PublishArguments.Usage);
        return 2;
    }
    args = translated;
}

var builder = DistributedApplication.CreateBuilder(LocalDashboard.WithDefaults(args));
try
{
    HyperionGraph.Declare(builder);
}
catch (InvalidOperationException ex)
{
    // A taken port, a missing binary or an invalid setting: the message says what to change, a stack trace would bury it.
    Console.Error.WriteLine(ex.Message);
    return 1;
}
KubernetesPublishing.AddTo(builder);
await builder.Build().RunAsync();
return 0;

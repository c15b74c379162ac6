using Hyperion.AppHost;
using Hyperion.AppHost.Hosting;
using Hyperion.AppHost.Publishing;

if (args is [PublishCommand.Verb, .. var publishArgs])
{
    return PublishCommand.Run(publishArgs, Console.Out, Console.Error);
}

var builder = DistributedApplication.CreateBuilder(args);

HyperionGraph.Declare(builder);

DistributedApplication app;
try
{
    app = builder.Build();
}
catch (InvalidOperationException ex)
{
    // A taken port or an invalid setting: the message says what to change, a stack trace would bury it.
    Console.Error.WriteLine(ex.Message);
    return 1;
}
return app.Run();

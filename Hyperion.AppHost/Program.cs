using Hyperion.AppHost;
using Hyperion.AppHost.Hosting;

if (args is ["publish", ..])
{
    Console.Error.WriteLine("publish is not implemented yet (usage: publish --output-path DIR).");
    return 2;
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

using Hyperion.Benchmarks;
using Hyperion.Benchmarks.GpuCheck;
using Hyperion.Benchmarks.Hosting;

// The same executable doubles as the bare-Kestrel ceiling so that both HTTP servers run as
// separate processes competing for the same cores as the load generator.
if (args.Length > 0 && args[0] == CeilingServer.Command)
{
    await CeilingServer.RunAsync(args[1..]);
    return 0;
}

if (args.Length > 0 && args[0] == RoutingStandIn.Command)
{
    await RoutingStandIn.RunAsync(args[1..]);
    return 0;
}

if (args.Length > 0 && args[0] == OtlpSink.Command)
{
    await OtlpSink.RunAsync(args[1..]);
    return 0;
}

if (args.Length > 0 && args[0] == GpuCheckOptions.Command)
{
    return await GpuCheckRunner.RunAsync(args[1..], CancellationToken.None);
}

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchmarkOptions.Usage);
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(BenchmarkOptions.Usage);
    return 0;
}

using var stopping = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stopping.Cancel();
};

return await new BenchmarkRunner(options).RunAsync(stopping.Token);

using Hyperion.Tests.TestSupport;

namespace Hyperion.Tests.Publishing;

/// <summary><c>publish</c> as users run it: the built AppHost, in a process of its own (Aspire's pipeline, then ours).</summary>
internal static class AppHostPublish
{
    public static ExternalTool.Result Run(params string[] args) =>
        ExternalTool.RunAsync(Environment.ProcessPath!, [TestPaths.AppHostAssembly, "publish", .. args],
            AppContext.BaseDirectory, TimeSpan.FromMinutes(3)).GetAwaiter().GetResult();
}

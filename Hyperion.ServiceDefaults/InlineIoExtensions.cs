using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Serves requests on the threads that wait for the sockets instead of handing each read and each answer to the thread
/// pool. A request through the gateway crosses three processes; with every hand-off a thread wake-up (a context switch
/// each way), the wake-ups cost more CPU than the work when the cores are shared. Only for services whose request path
/// never blocks a thread for long: a blocked socket thread holds up every connection it serves.
/// </summary>
public static class InlineIoExtensions
{
    /// <summary>Read by the runtime once, when the first socket is used: it must be set before then.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Socket completions run on the socket threads (one per core) unless <see cref="InlineCompletionsVariable"/> is
    /// already set (an operator's <c>0</c> wins), and Kestrel runs the request there too. Call it while building,
    /// before anything opens a socket.
    /// </summary>
    public static WebApplicationBuilder UseInlineIo(this WebApplicationBuilder builder, bool enabled)
    {
        if (!enabled)
        {
            return builder;
        }
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        }
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        return builder;
    }
}

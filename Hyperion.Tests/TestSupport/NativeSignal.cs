using System.Runtime.InteropServices;

namespace Hyperion.Tests.TestSupport;

/// <summary>kill(2): tests signal processes the way a terminal (SIGINT) or a service manager (SIGTERM) does.</summary>
internal static partial class NativeSignal
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    public static int Send(int pid, int signal) => Kill(pid, signal);
}

using System.Runtime.InteropServices;

namespace Hyperion.AppHost.Hosting;

/// <summary>The few libc calls .NET's Process does not offer: signalling a whole process group.</summary>
internal static class NativeMethods
{
    private const int ESRCH = 3;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [DllImport("libc")]
    internal static extern uint geteuid();

    /// <summary>Signals the process group led by <paramref name="pid"/>, or the process alone if it leads none.</summary>
    public static bool SignalGroup(int pid, ProcessSignal signal)
    {
        if (pid <= 1)
        {
            return false;
        }
        if (kill(-pid, (int)signal) == 0)
        {
            return true;
        }
        return Marshal.GetLastPInvokeError() == ESRCH && kill(pid, (int)signal) == 0;
    }

    public static bool Signal(int pid, ProcessSignal signal) => pid > 1 && kill(pid, (int)signal) == 0;

    public static bool IsAlive(int pid) => pid > 1 && kill(pid, 0) == 0;
}

public enum ProcessSignal
{
    Interrupt = 2,
    Kill = 9,
    Terminate = 15,
}

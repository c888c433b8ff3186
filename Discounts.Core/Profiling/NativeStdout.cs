using System.Runtime.InteropServices;

namespace Discounts.Core.Profiling;

/// <summary>
/// ML.NET's LDA (LightLDA, native code) prints "loglikelihood" lines with printf on stdout. Verbs that print JSON lines
/// on stdout must not see them, so while LDA runs, file descriptor 1 is pointed at stderr and then restored. The swap
/// is process-wide, so callers are serialised.
/// </summary>
public static class NativeStdout
{
    private const int StdoutFd = 1;
    private const int StderrFd = 2;
    private static readonly Lock Gate = new();

    public static T ToStderr<T>(Func<T> action)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return action();
        }

        lock (Gate)
        {
            Console.Out.Flush();
            var saved = Dup(StdoutFd);
            if (saved < 0)
            {
                return action();
            }

            try
            {
                Dup2(StderrFd, StdoutFd);
                return action();
            }
            finally
            {
                // C stdio buffers what printf wrote; flush it while fd 1 still points at stderr.
                Fflush(IntPtr.Zero);
                Dup2(saved, StdoutFd);
                Close(saved);
            }
        }
    }

    [DllImport("libc", EntryPoint = "dup")]
    private static extern int Dup(int fd);

    [DllImport("libc", EntryPoint = "dup2")]
    private static extern int Dup2(int oldFd, int newFd);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);

    [DllImport("libc", EntryPoint = "fflush")]
    private static extern int Fflush(IntPtr stream);
}

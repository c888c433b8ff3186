using System.Runtime.InteropServices;

namespace Discounts.Training.Runtime;

/// <summary>
/// Crash-safe replacement of a file: write a temporary, flush it to disk, rename it over the target, then flush the
/// directory. Without the last step a power loss after the rename can leave the directory pointing at the old file
/// (or at none), because the name lives in the directory and the kernel may not have written it yet.
/// </summary>
public static partial class DurableFile
{
    /// <summary>Forces the file's bytes to disk.</summary>
    public static void FlushToDisk(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Renames <paramref name="temporary"/> to <paramref name="path"/> and makes the rename durable.</summary>
    public static void Rename(string temporary, string path, bool overwrite)
    {
        File.Move(temporary, path, overwrite);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>fsync(2) on the directory itself. Windows gives renames no such handle, and NTFS journals them.</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        var descriptor = Open(directory, ReadOnly);
        if (descriptor < 0)
            throw new IOException($"Cannot open directory '{directory}' to flush it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            // Some network file systems refuse fsync on a directory (EINVAL); the rename is then as durable as they make it.
            if (Sync(descriptor) != 0 && Marshal.GetLastPInvokeError() is var errno && errno != InvalidArgument)
                throw new IOException($"fsync of directory '{directory}' failed (errno {errno}).");
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    private const int ReadOnly = 0;
    private const int InvalidArgument = 22;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Sync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int descriptor);
}

using System.Runtime.InteropServices;

namespace Discounts.Training.Runtime;

/// <summary>
/// Turns TorchSharp's generic load failure ("doesn't contain a reference to libtorch-cpu-...") into the real
/// reason, by loading the native library directly and reporting what the dynamic loader said.
/// </summary>
internal static class NativeBackendDiagnostics
{
    public static string DescribeLoadFailure()
    {
        if (!OperatingSystem.IsLinux()) return "TorchSharp could not load its native backend.";
        var library = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(library))
        {
            return $"TorchSharp's native library is not at {library}: the build did not copy the native backend " +
                   "(check the TorchSharp and libtorch package references for -p:TorchBackend).";
        }
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(library));
            return $"TorchSharp could not initialise although {library} loads; see the inner exception.";
        }
        catch (DllNotFoundException error)
        {
            return $"{library} does not load: {error.Message} If this names GLIBCXX_3.4.3x, the build step that marks " +
                   "those version needs weak (Discounts.Training/build/TorchSharpGlibcxxFix.targets) did not run on this copy.";
        }
    }
}

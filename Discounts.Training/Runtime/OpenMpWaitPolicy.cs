using System.Runtime.InteropServices;

namespace Discounts.Training.Runtime;

/// <summary>
/// libtorch's CPU kernels run on OpenMP, whose threads by default spin at every barrier. On a machine shared with
/// other work (web requests, jobs, builds) a spinning thread holds a core the thread it waits for needs, and a
/// BERT forward of ~150 parallel regions slowed down about 2x in our measurements; "passive" makes waiting
/// threads sleep instead. libgomp reads OMP_WAIT_POLICY once, when libtorch loads, so this must run before the
/// first torch call, and an explicitly set environment variable always wins.
/// </summary>
public static partial class OpenMpWaitPolicy
{
    public const string VariableName = "OMP_WAIT_POLICY";

    /// <summary>Sets OMP_WAIT_POLICY for this process unless it is already set; returns the policy in effect.</summary>
    /// <param name="policy"><c>passive</c> or <c>active</c>; empty leaves libgomp's default.</param>
    public static string Apply(string? policy)
    {
        var value = policy?.Trim().ToUpperInvariant() ?? "";
        if (value is not ("PASSIVE" or "ACTIVE" or ""))
            throw new ArgumentException($"OpenMP wait policy must be passive or active, not '{policy}'.", nameof(policy));
        var existing = Environment.GetEnvironmentVariable(VariableName);
        if (!string.IsNullOrEmpty(existing)) return existing;
        if (value.Length == 0) return "default";
        // Environment.SetEnvironmentVariable changes only .NET's copy on Linux; libgomp reads the C environment.
        if (OperatingSystem.IsLinux() && SetEnvironment(VariableName, value, overwrite: 0) != 0)
            throw new InvalidOperationException($"setenv({VariableName}) failed.");
        Environment.SetEnvironmentVariable(VariableName, value);
        return value;
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironment(string name, string value, int overwrite);
}

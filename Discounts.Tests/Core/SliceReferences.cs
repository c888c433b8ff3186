using System.Text.RegularExpressions;

namespace Discounts.Tests.Core;

/// <summary>
/// Slices that name another slice, read from the source. A slice is a file under Features/ holding a public static
/// class of its own name with a nested command or query; it may name services and Core contracts, never another slice.
/// </summary>
public static class SliceReferences
{
    /// <summary>"GetRecommendations.cs names QuoteDiscount", one line per offence.</summary>
    public static IReadOnlyList<string> Find(string featuresDirectory)
    {
        var files = Directory.EnumerateFiles(featuresDirectory, "*.cs", SearchOption.AllDirectories)
            .Select(f => (Name: Path.GetFileNameWithoutExtension(f), Code: FolderDependencies.CodeOnly(File.ReadAllText(f))))
            .ToList();
        var slices = files.Where(f => IsSlice(f.Name, f.Code)).ToList();
        return
        [
            .. from slice in slices
               from other in slices
               where other.Name != slice.Name && Regex.IsMatch(slice.Code, $@"\b{Regex.Escape(other.Name)}\b")
               select $"{slice.Name}.cs names {other.Name}",
        ];
    }

    private static bool IsSlice(string name, string code) =>
        Regex.IsMatch(code, $@"^public static (?:partial )?class {Regex.Escape(name)}\b", RegexOptions.Multiline)
        && Regex.IsMatch(code, @":\s*I(?:Command|Query)<");
}

using System.ComponentModel.DataAnnotations;

namespace Discounts.Core.Data;

public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>Where the databases, keys and model files live; relative paths are taken from the repository root.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";
}

/// <summary>The resolved locations of everything the embedded default keeps on disk.</summary>
public sealed class DataPaths
{
    public DataPaths(string dataDirectory)
    {
        Root = Path.GetFullPath(Path.IsPathRooted(dataDirectory)
            ? dataDirectory
            : Path.Combine(RepositoryRoot.Find(), dataDirectory));
    }

    public string Root { get; }
    public string Database => Path.Combine(Root, "discounts.db");
    public string HangfireDatabase => Path.Combine(Root, "hangfire.db");
    public string AdminKey => Path.Combine(Root, "admin.key");
    public string Models => Path.Combine(Root, "models");

    public string DatabaseConnectionString => $"Data Source={Database};Foreign Keys=True;Default Timeout=30";

    public void EnsureCreated() => Directory.CreateDirectory(Root);
}

public static class RepositoryRoot
{
    /// <summary>
    /// The folder holding Discounts.sln, found by walking up from the running binaries and then the working
    /// directory; a published copy without the repository falls back to the binaries' folder.
    /// </summary>
    public static string Find()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Discounts.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return AppContext.BaseDirectory;
    }
}

using System.ComponentModel.DataAnnotations;

namespace Discounts.Core.Data;

public enum StorageProvider
{
    /// <summary>Files under the data directory: the embedded, zero-setup default for one machine.</summary>
    Sqlite,
    /// <summary>One PostgreSQL database (ConnectionStrings:Discounts) shared by every node, jobs included.</summary>
    Postgres,
}

public sealed class StorageOptions
{
    public const string Section = "Storage";
    public const string ConnectionStringName = "Discounts";

    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>Where the databases, keys and model files live; relative paths are taken from the repository root.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// Where model weights and other trained artifacts go: a shared volume when several nodes serve one shop, mounted
    /// at the same path on each. Empty means &lt;data&gt;/models.
    /// </summary>
    public string? ArtifactDirectory { get; set; }

    /// <summary>From ConnectionStrings:Discounts; required with <see cref="StorageProvider.Postgres"/>.</summary>
    public string? ConnectionString { get; set; }
}

/// <summary>The resolved locations of everything the embedded default keeps on disk.</summary>
public sealed class DataPaths
{
    public DataPaths(string dataDirectory, string? artifactDirectory = null)
    {
        Root = Resolve(dataDirectory);
        Models = string.IsNullOrWhiteSpace(artifactDirectory) ? Path.Combine(Root, "models") : Resolve(artifactDirectory);
    }

    public string Root { get; }
    public string Database => Path.Combine(Root, "discounts.db");
    public string HangfireDatabase => Path.Combine(Root, "hangfire.db");
    public string AdminKey => Path.Combine(Root, "admin.key");

    /// <summary>The artifact store: model weights, checkpoints and text models.</summary>
    public string Models { get; }

    public string DatabaseConnectionString => $"Data Source={Database};Foreign Keys=True;Default Timeout=30";

    public void EnsureCreated() => Directory.CreateDirectory(Root);

    private static string Resolve(string directory) => Path.GetFullPath(Path.IsPathRooted(directory)
        ? directory
        : Path.Combine(RepositoryRoot.Find(), directory));
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

namespace Discounts.Web.Cli;

/// <summary>`--name value` pairs after a verb. Unknown names and missing values are errors the verb reports.</summary>
public sealed class CliArguments
{
    private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);

    private CliArguments()
    {
    }

    public static CliArguments Parse(IReadOnlyList<string> args, params string[] allowed)
    {
        var parsed = new CliArguments();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..] : throw new CliException($"Expected --name, got '{args[i]}'.");
            if (!allowed.Contains(name))
            {
                throw new CliException($"Unknown option --{name}. Options: {string.Join(", ", allowed.Select(a => "--" + a))}.");
            }

            if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                throw new CliException($"--{name} needs a value.");
            }

            parsed.values[name] = args[++i];
        }

        return parsed;
    }

    /// <summary>`dotnet run --project` may start in the project folder, so a relative path that is not there is taken from the repository root.</summary>
    public static string FromRepositoryRoot(string path) =>
        Path.IsPathRooted(path) || File.Exists(path) || Directory.Exists(path) ? path : Path.GetFullPath(Path.Combine(Discounts.Core.Data.RepositoryRoot.Find(), path));

    /// <summary>The repository's data/ when run from inside a checkout (dotnet run may start in the project folder), else ./data.</summary>
    public static string RepositoryDataDirectory()
    {
        for (var folder = new DirectoryInfo(Directory.GetCurrentDirectory()); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Discounts.sln")))
            {
                return Path.Combine(folder.FullName, "data");
            }
        }

        return Path.Combine(Directory.GetCurrentDirectory(), "data");
    }

    public string Required(string name) => values.TryGetValue(name, out var value) ? value : throw new CliException($"--{name} is required.");

    public string Optional(string name, string fallback) => values.GetValueOrDefault(name, fallback);

    public int Int(string name, int fallback, int min, int max) =>
        !values.TryGetValue(name, out var text) ? fallback
        : int.TryParse(text, out var value) && value >= min && value <= max ? value
        : throw new CliException($"--{name} must be a whole number from {min} to {max}.");

    public double Double(string name, double fallback, double min, double max) =>
        !values.TryGetValue(name, out var text) ? fallback
        : double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value
        : throw new CliException($"--{name} must be a number from {min} to {max}.");
}

public sealed class CliException(string message) : Exception(message);

using System.Text.RegularExpressions;

namespace Discounts.Tests.Core;

/// <summary>
/// Which folders of a project use which, read from the source: a file depends on another folder when it names a type
/// declared only there, or imports its namespace or qualifies a name with it. Only top-level types count, and a name
/// declared twice counts for neither, so the graph may miss an edge rather than invent one.
/// </summary>
public sealed partial class FolderDependencies
{
    private FolderDependencies(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> edges) => Edges = edges;

    /// <summary>Folder → folder it uses → one example ("File.cs uses Type"), so a failure says where to look.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Edges { get; }

    public static FolderDependencies Read(string projectDirectory)
    {
        var project = Path.GetFileName(projectDirectory);
        var files = Directory.EnumerateFiles(projectDirectory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(Path.GetRelativePath(projectDirectory, f)))
            .Select(f => (Path: f, Folder: FolderOf(projectDirectory, f), Code: CodeOnly(File.ReadAllText(f))))
            .ToList();
        // A name declared twice anywhere (a slice's nested Command, Result or Validator) cannot say which one is meant.
        var declaredIn = files
            .SelectMany(f => Declaration().Matches(f.Code).Select(m => (Type: m.Groups["name"].Value, f.Folder)))
            .GroupBy(d => d.Type)
            .Where(g => g.Count() == 1)
            .ToDictionary(g => g.Key, g => g.Single().Folder, StringComparer.Ordinal);
        var folders = files.Select(f => f.Folder).ToHashSet(StringComparer.Ordinal);
        // A folder's own types, nested ones included, shadow a same-named type elsewhere.
        var ownNames = files.GroupBy(f => f.Folder).ToDictionary(
            g => g.Key, g => g.SelectMany(f => AnyDeclaration().Matches(f.Code).Select(m => m.Groups["name"].Value)).ToHashSet(StringComparer.Ordinal));

        var edges = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var (path, folder, code) in files)
        {
            var uses = edges.TryGetValue(folder, out var known) ? known : edges[folder] = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match import in Import().Matches(code))
            {
                var target = import.Groups["folder"].Value;
                if (import.Groups["project"].Value == project && target != folder && folders.Contains(target))
                {
                    uses.TryAdd(target, $"{Path.GetFileName(path)} names {project}.{target}");
                }
            }

            foreach (Match name in Identifier().Matches(code))
            {
                if (declaredIn.TryGetValue(name.Value, out var target) && target != folder && !ownNames[folder].Contains(name.Value) && !IsMemberName(code, name))
                {
                    uses.TryAdd(target, $"{Path.GetFileName(path)} uses {name.Value}");
                }
            }
        }

        return new FolderDependencies(edges.ToDictionary(e => e.Key, e => (IReadOnlyDictionary<string, string>)e.Value, StringComparer.Ordinal));
    }

    /// <summary>Every group of folders that use each other, directly or through others (strongly connected components of two or more).</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var index = 0;
        var indices = new Dictionary<string, int>(StringComparer.Ordinal);
        var lowLinks = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var cycles = new List<IReadOnlyList<string>>();

        void Visit(string folder)
        {
            indices[folder] = lowLinks[folder] = index++;
            stack.Push(folder);
            onStack.Add(folder);
            foreach (var next in Edges.GetValueOrDefault(folder)?.Keys ?? Enumerable.Empty<string>())
            {
                if (!indices.ContainsKey(next))
                {
                    Visit(next);
                    lowLinks[folder] = Math.Min(lowLinks[folder], lowLinks[next]);
                }
                else if (onStack.Contains(next))
                {
                    lowLinks[folder] = Math.Min(lowLinks[folder], indices[next]);
                }
            }

            if (lowLinks[folder] == indices[folder])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != folder);

                if (component.Count > 1)
                {
                    cycles.Add(component.Order(StringComparer.Ordinal).ToList());
                }
            }
        }

        foreach (var folder in Edges.Keys.Order(StringComparer.Ordinal))
        {
            if (!indices.ContainsKey(folder))
            {
                Visit(folder);
            }
        }

        return cycles;
    }

    /// <summary>A cycle in words, with the edges that close it.</summary>
    public string Describe(IReadOnlyList<string> cycle) => string.Join("; ", cycle.SelectMany(from =>
        cycle.Where(to => Edges.GetValueOrDefault(from)?.ContainsKey(to) == true).Select(to => $"{from} → {to} ({Edges[from][to]})")));

    /// <summary>
    /// Whether a name that matches a type is rather a member: reached through a dot, declared or assigned (followed by
    /// "{", "=", ";" or a named argument's ":"), a parameter after its type, or called (followed by "(" without "new" before it).
    /// </summary>
    private static bool IsMemberName(string code, Match name)
    {
        var before = code.AsSpan(0, name.Index).TrimEnd();
        var after = code.AsSpan(name.Index + name.Length).TrimStart();
        if (before.EndsWith("."))
        {
            return true;
        }

        if (after.IsEmpty)
        {
            return false;
        }

        // A parameter named like a type ("string ProfileText)") follows its own type, not a keyword like "is".
        if (after[0] is ')' or ',' && before.Length > 0 && (char.IsLetterOrDigit(before[^1]) || before[^1] is '>' or ']' or '?')
            && !(before.EndsWith(" is") || before.EndsWith(" as") || before.EndsWith(" in") || before.EndsWith("return")))
        {
            return true;
        }

        return after[0] switch
        {
            '{' or ';' => true,
            '=' => after.Length < 2 || (after[1] != '=' && after[1] != '>'),
            ':' => after.Length < 2 || after[1] != ':',
            '(' => !before.EndsWith("new"),
            _ => false,
        };
    }

    private static bool IsBuildOutput(string relative) =>
        relative.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal) || relative.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>The first folder below the project ("" for files at its root); migrations belong to the data folder they sit in.</summary>
    private static string FolderOf(string projectDirectory, string file)
    {
        var parts = Path.GetRelativePath(projectDirectory, file).Split(Path.DirectorySeparatorChar);
        return parts.Length > 1 ? parts[0] : "";
    }

    /// <summary>The code without comments and string literals, where type names appear in prose.</summary>
    internal static string CodeOnly(string source) => Strings().Replace(Comments().Replace(source, " "), "\"\"");

    /// <summary>Top-level declarations only (at the start of a line, as file-scoped namespaces put them): a nested type is named through its outer one.</summary>
    [GeneratedRegex(@"^(?:(?:public|internal|static|sealed|abstract|partial|readonly|file)\s+)*(?:class|record|struct|interface|enum)\s+(?<name>[A-Z]\w*)", RegexOptions.Multiline)]
    private static partial Regex Declaration();

    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum)\s+(?<name>[A-Z]\w*)")]
    private static partial Regex AnyDeclaration();

    // An import, or a name qualified with its namespace ("Discounts.Core.Serving.RecommendationService").
    [GeneratedRegex(@"\b(?<project>Discounts\.\w+)\.(?<folder>\w+)\b")]
    private static partial Regex Import();

    [GeneratedRegex(@"\b[A-Z]\w*\b")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comments();

    [GeneratedRegex(@"@?""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex Strings();
}

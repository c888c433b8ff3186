using System.Globalization;
using System.IO.Compression;

namespace Discounts.Core.Evaluation;

/// <summary>
/// One user's leave-one-out split. Items are 0-based indices. <see cref="Train"/> is everything before the validation
/// target; the validation history is the same items, and the test history adds the validation target.
/// </summary>
public sealed record LeaveOneOutUser(int[] Train, int[] ValidHistory, int ValidTarget, int[] TestHistory, int TestTarget);

/// <summary>A sequential-recommendation data set split by the leave-one-out protocol; texts are per item index when known.</summary>
public sealed record SequenceDataset(string Name, int ItemCount, IReadOnlyList<LeaveOneOutUser> Users, IReadOnlyList<string>? ItemTexts = null)
{
    public int InteractionCount => Users.Sum(u => u.TestHistory.Length + 1);
}

public static class SequenceDatasets
{
    /// <summary>
    /// The S3-Rec text format (`Beauty.txt`): one line per user, `user item_1 … item_n` in time order, 1-based item ids.
    /// The last item is the test target and the second-to-last the validation target.
    /// </summary>
    public static SequenceDataset LoadS3Rec(string path, string? name = null)
    {
        var users = new List<LeaveOneOutUser>();
        var maxItem = 0;
        using var reader = OpenText(path);
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            var cells = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (cells.Length == 0)
            {
                continue;
            }

            if (cells.Length < 4)
            {
                throw new InvalidDataException($"Line {lineNumber}: a user needs at least three items for the leave-one-out split.");
            }

            var sequence = new int[cells.Length - 1];
            for (var i = 1; i < cells.Length; i++)
            {
                var id = int.Parse(cells[i], CultureInfo.InvariantCulture);
                if (id < 1)
                {
                    throw new InvalidDataException($"Line {lineNumber}: item ids are 1-based, got {id}.");
                }

                sequence[i - 1] = id - 1;
                maxItem = Math.Max(maxItem, id);
            }

            users.Add(new LeaveOneOutUser(sequence[..^2], sequence[..^2], sequence[^2], sequence[..^1], sequence[^1]));
        }

        return new SequenceDataset(name ?? DatasetName(path), maxItem, users);
    }

    /// <summary>
    /// The UniSRec/RecBole atomic files in <paramref name="directory"/>: `{name}.{train,valid,test}.inter[.gz]`
    /// (`user \t history \t next_item`, with a header row), `{name}.item2index[.gz]` and optionally `{name}.text[.gz]`.
    /// The validation and test rows are used as given (their histories are already capped); the training sequence is
    /// the user's longest training row with its target appended.
    /// </summary>
    public static SequenceDataset LoadUniSRec(string directory, string name)
    {
        var itemIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var cells in Rows(FindFile(directory, $"{name}.item2index"), hasHeader: false))
        {
            itemIndex[cells[0]] = int.Parse(cells[1], CultureInfo.InvariantCulture);
        }

        var itemCount = itemIndex.Count == 0 ? 0 : itemIndex.Values.Max() + 1;
        var train = new Dictionary<int, int[]>();
        foreach (var (user, history, target) in InterRows(FindFile(directory, $"{name}.train.inter"), itemCount))
        {
            if (!train.TryGetValue(user, out var known) || known.Length < history.Length + 1)
            {
                train[user] = [.. history, target];
            }
        }

        var valid = InterRows(FindFile(directory, $"{name}.valid.inter"), itemCount).ToDictionary(r => r.User);
        var users = new List<LeaveOneOutUser>();
        foreach (var (user, testHistory, testTarget) in InterRows(FindFile(directory, $"{name}.test.inter"), itemCount))
        {
            if (!valid.TryGetValue(user, out var validRow))
            {
                throw new InvalidDataException($"User {user} has a test row but no validation row.");
            }

            users.Add(new LeaveOneOutUser(train.GetValueOrDefault(user, []), validRow.History, validRow.Target, testHistory, testTarget));
        }

        string[]? texts = null;
        var textPath = FindOptionalFile(directory, $"{name}.text");
        if (textPath is not null)
        {
            texts = new string[itemCount];
            Array.Fill(texts, string.Empty);
            foreach (var cells in Rows(textPath, hasHeader: true))
            {
                if (itemIndex.TryGetValue(cells[0], out var item))
                {
                    texts[item] = cells.Length > 1 ? cells[1] : string.Empty;
                }
            }
        }

        return new SequenceDataset(name, itemCount, users, texts);
    }

    private static IEnumerable<(int User, int[] History, int Target)> InterRows(string path, int itemCount)
    {
        foreach (var cells in Rows(path, hasHeader: true))
        {
            if (cells.Length != 3)
            {
                throw new InvalidDataException($"{Path.GetFileName(path)}: expected `user \\t history \\t item`, got {cells.Length} columns.");
            }

            var history = cells[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(c => Item(c, itemCount, path)).ToArray();
            yield return (int.Parse(cells[0], CultureInfo.InvariantCulture), history, Item(cells[2], itemCount, path));
        }
    }

    private static int Item(string cell, int itemCount, string path)
    {
        var item = int.Parse(cell, CultureInfo.InvariantCulture);
        return item >= 0 && item < itemCount ? item : throw new InvalidDataException($"{Path.GetFileName(path)}: item {item} is not in item2index.");
    }

    private static IEnumerable<string[]> Rows(string path, bool hasHeader)
    {
        using var reader = OpenText(path);
        if (hasHeader)
        {
            reader.ReadLine();
        }

        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                yield return line.Split('\t');
            }
        }
    }

    private static string FindFile(string directory, string fileName) =>
        FindOptionalFile(directory, fileName) ?? throw new FileNotFoundException($"Neither {fileName}.gz nor {fileName} is in {directory}.");

    private static string? FindOptionalFile(string directory, string fileName) =>
        new[] { fileName + ".gz", fileName }.Select(f => Path.Combine(directory, f)).FirstOrDefault(File.Exists);

    private static StreamReader OpenText(string path)
    {
        var stream = File.OpenRead(path);
        return new StreamReader(path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(stream, CompressionMode.Decompress) : stream);
    }

    private static string DatasetName(string path)
    {
        var file = Path.GetFileName(path);
        var dot = file.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? file[..dot] : file;
    }
}

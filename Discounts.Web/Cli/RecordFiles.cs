using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Discounts.Web.Cli;

/// <summary>
/// Reads records from CSV (header row, RFC 4180 quoting), JSON lines (.jsonl) or JSON (.json: an array, or JSON lines)
/// into the same records the HTTP API takes, so an import and a request mean the same thing.
/// </summary>
public static class RecordFiles
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
    };

    /// <summary>Yields (line number, record); a record that cannot be read throws with the file and line.</summary>
    public static IEnumerable<(int Line, T Record)> Read<T>(string path)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        return extension switch
        {
            ".csv" => ReadCsv<T>(path),
            ".jsonl" => ReadJsonLines<T>(path),
            ".json" => FirstCharacter(path) == '[' ? ReadJsonArray<T>(path) : ReadJsonLines<T>(path),
            _ => throw new ArgumentException($"{path}: use .csv, .jsonl or .json."),
        };
    }

    private static IEnumerable<(int, T)> ReadJsonLines<T>(string path)
    {
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (!string.IsNullOrWhiteSpace(text))
            {
                yield return (line, Deserialize<T>(text, path, line));
            }
        }
    }

    private static IEnumerable<(int, T)> ReadJsonArray<T>(string path)
    {
        using var stream = File.OpenRead(path);
        var index = 0;
        foreach (var record in JsonSerializer.DeserializeAsyncEnumerable<T>(stream, Json).ToBlockingEnumerable())
        {
            index++;
            yield return (index, record ?? throw new InvalidDataException($"{path}: record {index} is null."));
        }
    }

    private static IEnumerable<(int, T)> ReadCsv<T>(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        var line = 0;
        string[]? header = null;
        foreach (var (row, startLine) in CsvRows(reader, () => ++line))
        {
            if (header is null)
            {
                header = row.Select(h => h.Trim()).ToArray();
                continue;
            }

            if (row.Count == 1 && row[0].Length == 0)
            {
                continue;
            }

            if (row.Count != header.Length)
            {
                throw new InvalidDataException($"{path}:{startLine}: {row.Count} fields where the header has {header.Length}.");
            }

            // Empty cells are absent fields; "true"/"false" are booleans; the rest are strings, which numbers may be read from.
            var json = new JsonObject();
            for (var i = 0; i < header.Length; i++)
            {
                if (row[i].Length == 0)
                {
                    continue;
                }

                json[header[i]] = row[i] switch
                {
                    "true" or "TRUE" or "True" => JsonValue.Create(true),
                    "false" or "FALSE" or "False" => JsonValue.Create(false),
                    var text => JsonValue.Create(text),
                };
            }

            yield return (startLine, Deserialize<T>(json.ToJsonString(), path, startLine));
        }
    }

    /// <summary>RFC 4180: fields separated by commas, optionally quoted, quotes doubled inside quotes, newlines allowed inside quotes.</summary>
    private static IEnumerable<(List<string> Row, int StartLine)> CsvRows(StreamReader reader, Func<int> nextLine)
    {
        string? text;
        while ((text = reader.ReadLine()) is not null)
        {
            var startLine = nextLine();
            var row = new List<string>();
            var field = new StringBuilder();
            var quoted = false;
            var i = 0;
            while (true)
            {
                if (i == text.Length)
                {
                    if (quoted && reader.ReadLine() is { } continuation)
                    {
                        nextLine();
                        field.Append('\n');
                        text = continuation;
                        i = 0;
                        continue;
                    }

                    row.Add(field.ToString());
                    break;
                }

                var c = text[i++];
                if (quoted)
                {
                    if (c == '"' && i < text.Length && text[i] == '"')
                    {
                        field.Append('"');
                        i++;
                    }
                    else if (c == '"')
                    {
                        quoted = false;
                    }
                    else
                    {
                        field.Append(c);
                    }
                }
                else if (c == '"' && field.Length == 0)
                {
                    quoted = true;
                }
                else if (c == ',')
                {
                    row.Add(field.ToString());
                    field.Clear();
                }
                else
                {
                    field.Append(c);
                }
            }

            yield return (row, startLine);
        }
    }

    private static T Deserialize<T>(string json, string path, int line)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Json) ?? throw new InvalidDataException($"{path}:{line}: the record is null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}:{line}: {e.Path?.TrimStart('$', '.')} is not valid: {e.Message.Split(". ")[0]}.", e);
        }
    }

    private static char FirstCharacter(string path)
    {
        using var reader = new StreamReader(path);
        int c;
        while ((c = reader.Read()) >= 0)
        {
            if (!char.IsWhiteSpace((char)c) && c != '\uFEFF')
            {
                return (char)c;
            }
        }

        return '\0';
    }
}

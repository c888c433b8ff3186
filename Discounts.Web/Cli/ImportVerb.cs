using System.Diagnostics;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Web.Features.Events;
using Discounts.Web.Features.Items;
using Discounts.Web.Features.Texts;
using Discounts.Web.Features.Users;
using Discounts.Web.Infrastructure;
using Discounts.Web.Modules;
using FluentValidation;
using Mediator;

namespace Discounts.Web.Cli;

/// <summary>
/// `import --items F --users F --events F --texts F [--batch N]`: bulk-loads files through the same mediator commands
/// the HTTP API uses, so every record is validated and cleaned the same way. Progress goes to stderr, one JSON summary
/// line to stdout. Each batch is all or nothing; a bad batch stops the import and names the file line.
/// </summary>
public static class ImportVerb
{
    public sealed record UserRow(string? Id, DateTime? CreatedAt, bool? ConsentPersonalisation, bool? ConsentMarketing);

    private static readonly string[] Kinds = ["items", "users", "events", "texts"];

    public static async Task<int> RunAsync(string[] args)
    {
        var files = new Dictionary<string, string>();
        var batch = 5_000;
        var hostArgs = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i].TrimStart('-');
            if (Kinds.Contains(name) && i + 1 < args.Length)
            {
                files[name] = args[++i];
            }
            else if (name == "batch" && i + 1 < args.Length && int.TryParse(args[++i], out var size) && size is > 0 and <= Limits.MaxBatchSize)
            {
                batch = size;
            }
            else
            {
                hostArgs.Add(args[i]);
            }
        }

        if (files.Count == 0)
        {
            await Console.Error.WriteLineAsync("Usage: import [--items F] [--users F] [--events F] [--texts F] [--batch N<=10000]   (F: .csv, .jsonl or .json)");
            return 2;
        }

        if (files.Values.FirstOrDefault(f => !File.Exists(f)) is { } missing)
        {
            await Console.Error.WriteLineAsync($"File not found: {missing}");
            return 2;
        }

        await using var app = await CliHost.BuildAsync([.. hostArgs]);
        var summary = new Dictionary<string, object>();
        var started = Stopwatch.GetTimestamp();
        try
        {
            // Items before events and texts that point at them; users before their events so consent is set first.
            foreach (var kind in Kinds.Where(files.ContainsKey))
            {
                summary[kind] = kind switch
                {
                    "items" => await ImportAsync<UpsertItems.ItemRecord>(app, kind, files[kind], batch,
                        (sender, chunk, ct) => Counted(sender.Send(new UpsertItems.Command(chunk), ct), r => new { r.Created, r.Updated })),
                    "users" => await ImportAsync<UserRow>(app, kind, files[kind], batch, ImportUsersAsync),
                    "events" => await ImportAsync<IngestEvents.EventRecord>(app, kind, files[kind], batch,
                        (sender, chunk, ct) => Counted(sender.Send(new IngestEvents.Command(chunk), ct), r => new { r.Accepted, r.Duplicates, r.UsersCreated })),
                    _ => await ImportAsync<IngestTexts.TextRecord>(app, kind, files[kind], batch,
                        (sender, chunk, ct) => Counted(sender.Send(new IngestTexts.Command(chunk), ct), r => new { r.Accepted, r.Empty, r.UsersCreated })),
                };
            }
        }
        catch (ImportFailedException failed)
        {
            await Console.Error.WriteLineAsync();
            await Console.Error.WriteLineAsync(failed.Message);
            Console.WriteLine(JsonSerializer.Serialize(new { ok = false, error = failed.Message, imported = summary }, RecordFiles.Json));
            return 1;
        }

        await Console.Error.WriteLineAsync();
        summary["seconds"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 2);
        Console.WriteLine(JsonSerializer.Serialize(new { ok = true, imported = summary }, RecordFiles.Json));
        return 0;
    }

    private static async Task<Dictionary<string, long>> ImportAsync<T>(
        WebApplication app, string kind, string path, int batch, Func<ISender, List<T>, CancellationToken, Task<object>> send)
    {
        var totals = new Dictionary<string, long> { ["records"] = 0 };
        var started = Stopwatch.GetTimestamp();
        var chunk = new List<T>(batch);
        var lines = new List<int>(batch);

        async Task FlushAsync()
        {
            await using var scope = app.Services.CreateAsyncScope();
            try
            {
                var counts = await send(scope.ServiceProvider.GetRequiredService<ISender>(), chunk, CancellationToken.None);
                foreach (var property in counts.GetType().GetProperties())
                {
                    var name = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
                    totals[name] = totals.GetValueOrDefault(name) + Convert.ToInt64(property.GetValue(counts), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            catch (ValidationException invalid)
            {
                throw new ImportFailedException($"{path}: batch of lines {lines[0]}-{lines[^1]} refused, nothing from it stored: "
                    + string.Join("; ", invalid.Errors.Take(5).Select(e => $"{WithLine(e.PropertyName, lines)}: {e.ErrorMessage}"))
                    + (invalid.Errors.Count() > 5 ? $" (and {invalid.Errors.Count() - 5} more)" : ""));
            }

            totals["records"] += chunk.Count;
            var rate = totals["records"] / Math.Max(0.001, Stopwatch.GetElapsedTime(started).TotalSeconds);
            Console.Error.Write($"\r{kind}: {totals["records"]:N0} records ({rate:N0}/s)   ");
            chunk.Clear();
            lines.Clear();
        }

        try
        {
            foreach (var (line, record) in RecordFiles.Read<T>(path))
            {
                chunk.Add(record);
                lines.Add(line);
                if (chunk.Count == batch)
                {
                    await FlushAsync();
                }
            }
        }
        catch (InvalidDataException unreadable)
        {
            throw new ImportFailedException(unreadable.Message);
        }

        if (chunk.Count > 0)
        {
            await FlushAsync();
        }

        await Console.Error.WriteLineAsync();
        return totals;
    }

    private static async Task<object> ImportUsersAsync(ISender sender, List<UserRow> users, CancellationToken cancellationToken)
    {
        var created = 0;
        foreach (var user in users)
        {
            var result = await sender.Send(new UpsertUser.Command(user.Id, user.CreatedAt, user.ConsentPersonalisation ?? false, user.ConsentMarketing ?? false), cancellationToken);
            created += result.Created ? 1 : 0;
        }

        return new { Created = created, Updated = users.Count - created };
    }

    private static async Task<object> Counted<TResult>(ValueTask<TResult> sent, Func<TResult, object> counts) => counts(await sent);

    /// <summary>"Events[3].ItemId" in a batch read from lines 101-200 becomes "line 104: events[3].itemId".</summary>
    private static string WithLine(string property, List<int> lines)
    {
        var open = property.IndexOf('[', StringComparison.Ordinal);
        var close = property.IndexOf(']', StringComparison.Ordinal);
        var field = string.Join('.', property.Split('.').Select(p => p.Length > 0 ? char.ToLowerInvariant(p[0]) + p[1..] : p));
        return open >= 0 && close > open && int.TryParse(property[(open + 1)..close], out var index) && index < lines.Count
            ? $"line {lines[index]} ({field})"
            : field;
    }

    private sealed class ImportFailedException(string message) : Exception(message);
}

/// <summary>The services of the web host without Kestrel, for verbs: configuration, storage (migrated), mediator, jobs client.</summary>
public static class CliHost
{
    public static async Task<WebApplication> BuildAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddRepositorySettings();
        // Verbs print results on stdout; logs go to stderr.
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.AddDiscountsServices(builder.Configuration);
        var app = builder.Build();
        var paths = app.Services.GetRequiredService<DataPaths>();
        paths.EnsureCreated();
        await using var scope = app.Services.CreateAsyncScope();
        await DatabaseSetup.MigrateAsync(scope.ServiceProvider.GetRequiredService<DiscountsDbContext>(), CancellationToken.None);
        return app;
    }
}

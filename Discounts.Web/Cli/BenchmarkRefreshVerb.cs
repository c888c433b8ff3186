using System.Diagnostics;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Demo;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Cli;

/// <summary>
/// `benchmark-refresh --users 1000,2000,4000 [--repeats 3] [--dir DIR]`: the profile refresh of new users who write
/// words the shop has never seen. The demo shop is seeded and its text model fitted once into DIR/template; each run
/// copies it, stores six reviews for each of N new users (three words of their own, one shared with nine others, and
/// words the shop knows), queues them, then times the two steps of one refresh on the real SQLite database: counting
/// the new texts into the live document counts, and scoring and storing the profiles. One JSON line per run on
/// stdout, then one with the medians per size, so linearity in new texts reads off the per-text figures.
/// </summary>
public static class BenchmarkRefreshVerb
{
    private const int TextsPerUser = 6;
    private const int UsersPerSharedWord = 10;

    public static async Task<int> RunAsync(string[] args)
    {
        var arguments = CliArguments.Parse(args, "users", "repeats", "dir");
        var sizes = arguments.Optional("users", "1000").Split(',').Select(s => int.TryParse(s, out var n) && n is > 0 and <= 100_000
            ? n : throw new CliException("--users must list whole numbers from 1 to 100000, e.g. 1000,2000.")).ToList();
        var repeats = arguments.Int("repeats", 3, 1, 20);
        var root = arguments.Optional("dir", Path.Combine(Path.GetTempPath(), "discounts-refresh-bench"));
        var template = Path.Combine(root, "template");
        var options = new ProfilingOptions();
        if (!File.Exists(Path.Combine(template, "ready")))
        {
            await Console.Error.WriteLineAsync($"seeding the demo shop and fitting its text model in {template}");
            await SeedTemplateAsync(template, options);
        }

        var summary = new Dictionary<string, object>();
        foreach (var size in sizes)
        {
            var runs = new List<Run>();
            for (var repeat = 0; repeat < repeats; repeat++)
            {
                var run = await RunOnceAsync(template, Path.Combine(root, $"run-{size}-{repeat}"), size, options);
                runs.Add(run);
                Console.WriteLine(JsonSerializer.Serialize(run, Json));
            }

            summary[size.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new
            {
                countSeconds = BenchmarkProfilesVerb.Median(runs.Select(r => r.CountSeconds)),
                scoreSeconds = BenchmarkProfilesVerb.Median(runs.Select(r => r.ScoreSeconds)),
                cpuSeconds = BenchmarkProfilesVerb.Median(runs.Select(r => r.CpuSeconds)),
                microsecondsPerText = BenchmarkProfilesVerb.Median(runs.Select(r => r.MicrosecondsPerText)),
                allocatedBytesPerText = BenchmarkProfilesVerb.Median(runs.Select(r => r.AllocatedBytesPerText)),
            };
        }

        Console.WriteLine(JsonSerializer.Serialize(new { medians = summary, repeats, cores = Environment.ProcessorCount }, Json));
        return 0;
    }

    private sealed record Run(
        int Users, int Texts, double CountSeconds, double ScoreSeconds, double CpuSeconds, double MicrosecondsPerText,
        double AllocatedBytesPerText, int TrackedTerms, int NewTermsAdmitted, double OwnWordInTopThree);

    private static async Task SeedTemplateAsync(string template, ProfilingOptions options)
    {
        if (Directory.Exists(template))
        {
            Directory.Delete(template, recursive: true);
        }

        var paths = new DataPaths(template);
        Directory.CreateDirectory(paths.Models);
        await using (var db = Open(paths))
        {
            await db.Database.MigrateAsync();
            var now = DateTime.UtcNow;
            await DemoSeeder.SeedIfEmptyAsync(db, new DemoShopOptions(), now, CancellationToken.None);
            await new ProfileBuilder(db, new TextModelStore(paths), options, TimeProvider.System).RebuildAllAsync(CancellationToken.None);
            // The copies must hold everything in the main file.
            await db.Database.ExecuteSqlRawAsync("PRAGMA wal_checkpoint(TRUNCATE)");
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await File.WriteAllTextAsync(Path.Combine(template, "ready"), "");
    }

    private static async Task<Run> RunOnceAsync(string template, string directory, int users, ProfilingOptions options)
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        CopyDirectory(template, directory);
        var paths = new DataPaths(directory);
        try
        {
            await using var db = Open(paths);
            var ownWords = await WriteNewUsersAsync(db, users);
            var builder = new ProfileBuilder(db, new TextModelStore(paths), options, TimeProvider.System);
            var vocabulary = new LiveVocabulary(db, options);
            var trackedBefore = await db.TextTerms.CountAsync();
            GC.Collect();

            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var started = Stopwatch.GetTimestamp();
            var texts = await vocabulary.CountNewTextsAsync(DateTime.UtcNow, CancellationToken.None);
            var counted = Stopwatch.GetElapsedTime(started);
            // The refresh finds nothing left to count, so this is the scoring and storing step alone.
            await builder.RefreshQueuedAsync(CancellationToken.None);
            var total = Stopwatch.GetElapsedTime(started);
            var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;

            var profiles = await db.Profiles.AsNoTracking().Where(p => ownWords.Keys.Contains(p.UserId)).Select(p => new { p.UserId, p.KeywordsJson }).ToListAsync();
            var hits = profiles.Count(p => JsonSerializer.Deserialize<List<WeightedTerm>>(p.KeywordsJson, ProfileJson.Options)!
                .Take(3).Any(k => k.Term == ownWords[p.UserId]));
            var state = await db.TextCorpus.AsNoTracking().SingleAsync();
            return new Run(users, texts, Math.Round(counted.TotalSeconds, 3), Math.Round((total - counted).TotalSeconds, 3), Math.Round(cpuSeconds, 3),
                Math.Round(total.TotalMicroseconds / texts, 1), Math.Round((double)allocated / texts), await db.TextTerms.CountAsync() - trackedBefore,
                state.NewTerms, Math.Round((double)hits / users, 4));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Stores the new users and their reviews and queues them; returns each user's first own word.</summary>
    private static async Task<Dictionary<long, string>> WriteNewUsersAsync(DiscountsDbContext db, int count)
    {
        var random = new Random(count);
        var known = await db.TextTerms.AsNoTracking().Where(t => t.Admitted).OrderBy(t => t.Term).Select(t => t.Term).Take(2_000).ToListAsync();
        var now = DateTime.UtcNow;
        var users = Enumerable.Range(0, count).Select(i => new User { ExternalId = $"bench-new-{i:D6}", CreatedAt = now, UpdatedAt = now }).ToList();
        db.Users.AddRange(users);
        await db.SaveChangesAsync();
        var shared = Enumerable.Range(0, (count + UsersPerSharedWord - 1) / UsersPerSharedWord).Select(_ => MadeUpWord(random)).ToList();
        var ownWords = new Dictionary<long, string>();
        for (var i = 0; i < users.Count; i++)
        {
            var own = Enumerable.Range(0, 3).Select(_ => MadeUpWord(random)).ToArray();
            ownWords[users[i].Id] = own[0];
            db.UserTexts.AddRange(Enumerable.Range(0, TextsPerUser).Select(t => new UserText
            {
                UserId = users[i].Id,
                Kind = TextKind.Review,
                Text = string.Join(' ', [own[0], own[t % 3], shared[i / UsersPerSharedWord], .. Enumerable.Range(0, 12).Select(_ => known[random.Next(known.Count)])]),
                OccurredAt = now,
            }));
        }

        await ProfileBuilder.QueueAsync(db, users.Select(u => u.Id).ToList(), now.AddSeconds(-1), CancellationToken.None);
        await db.SaveChangesAsync();
        db.ChangeTracker.Clear();
        return ownWords;
    }

    private static string MadeUpWord(Random random) => new([.. Enumerable.Range(0, 8).Select(_ => (char)('a' + random.Next(26)))]);

    private static DiscountsDbContext Open(DataPaths paths) =>
        new(new DbContextOptionsBuilder<DiscountsDbContext>().UseDiscountsSqlite(paths).Options);

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(directory.Replace(from, to, StringComparison.Ordinal));
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
        }
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}

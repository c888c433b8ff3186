using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Discounts.Tests.Core.Profiling;

/// <summary>
/// Live document counts on a real SQLite database: a word the fitted vocabulary lacks weighs in a profile at the next
/// refresh, enters the vocabulary once enough distinct users write it, never grows past its caps, and a failed
/// refresh leaves what was stored before.
/// </summary>
public sealed class LiveVocabularyTests
{
    private static readonly DateTime Start = new(2026, 11, 2, 9, 0, 0, DateTimeKind.Utc);

    private static readonly string[] Subjects =
    [
        "running shoes with soft cushioning for long road runs",
        "paperback novel with a gripping plot and warm characters",
        "espresso machine that makes rich crema every morning",
        "garden hose that does not kink and reaches the far beds",
        "wireless headphones with deep bass and long battery life",
        "yoga mat with a grippy surface for hot studio classes",
    ];

    private string directory = "";

    [SetUp]
    public void CreateDirectory() => directory = Directory.CreateTempSubdirectory("discounts-vocabulary-").FullName;

    [TearDown]
    public void DeleteDirectory()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
    }

    [Test]
    public async Task RefreshQueued_WhenUserWritesWordsOutsideTheFittedVocabulary_RanksThemAmongTopKeywordsWithoutPersonalData()
    {
        var (db, builder, _) = await SeededShopAsync();
        await using var _db = db;
        var kayaker = await AddUserAsync(db, "kayaker");
        await WriteAsync(db, kayaker, KayakReviews);
        await ProfileBuilder.QueueAsync(db, [kayaker], Start.AddDays(1), CancellationToken.None);
        await db.SaveChangesAsync();

        await builder.RefreshQueuedAsync(CancellationToken.None);

        var profile = await db.Profiles.AsNoTracking().SingleAsync(p => p.UserId == kayaker);
        var keywords = Keywords(profile);
        var fitted = await db.TextTerms.AsNoTracking().Where(t => t.Admitted).Select(t => t.Term).ToListAsync();
        Assert.Multiple(() =>
        {
            Assert.That(fitted, Does.Not.Contain("kayak"), "the fit never saw the word");
            Assert.That(keywords.Take(3), Does.Contain("kayak"), string.Join(", ", keywords));
            Assert.That(keywords, Does.Contain("paddle"));
            Assert.That(keywords, Has.None.Contains("@").And.None.Matches<string>(k => k.Any(char.IsDigit)), "no e-mail or phone number");
            Assert.That(profile.ProfileText, Does.Contain("kayak"), "the scorer's user side reads the new word");
            Assert.That(profile.VocabularyVersion, Is.GreaterThan(0));
        });
    }

    [Test]
    public async Task CountNewTexts_WhenASecondUserWritesTheWord_AdmitsItWithItsOwnIdfAndRaisesTheVersion()
    {
        var (db, builder, vocabulary) = await SeededShopAsync();
        await using var _db = db;
        var first = await AddUserAsync(db, "first-kayaker");
        var second = await AddUserAsync(db, "second-kayaker");
        var versionAtFit = (await db.TextCorpus.AsNoTracking().SingleAsync()).VocabularyVersion;

        await WriteAsync(db, first, KayakReviews);
        await vocabulary.CountNewTextsAsync(Start.AddDays(1), CancellationToken.None);
        var alone = await db.TextTerms.AsNoTracking().SingleAsync(t => t.Term == "kayak");
        var afterFirst = await db.TextCorpus.AsNoTracking().SingleAsync();

        await WriteAsync(db, second, ["a kayak for the lake"]);
        await vocabulary.CountNewTextsAsync(Start.AddDays(1), CancellationToken.None);
        var shared = await db.TextTerms.AsNoTracking().SingleAsync(t => t.Term == "kayak");
        var afterSecond = await db.TextCorpus.AsNoTracking().SingleAsync();
        var statistics = await vocabulary.SnapshotAsync(["kayak", "never-written"], CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(alone.Documents, Is.EqualTo(KayakReviews.Length));
            Assert.That(alone.Admitted, Is.False, "one user alone does not put a word in the vocabulary");
            Assert.That(afterFirst.VocabularyVersion, Is.EqualTo(versionAtFit));
            Assert.That(shared.Documents, Is.EqualTo(KayakReviews.Length + 1));
            Assert.That(shared.Admitted, Is.True);
            Assert.That(afterSecond.VocabularyVersion, Is.EqualTo(versionAtFit + 1));
            Assert.That(afterSecond.NewTerms, Is.GreaterThanOrEqualTo(1));
            Assert.That(afterSecond.Documents, Is.EqualTo(afterFirst.Documents + 1));
            Assert.That(statistics!.Idf("kayak"), Is.EqualTo(Math.Log((double)afterSecond.Documents / shared.Documents)).Within(1e-12));
            Assert.That(statistics.Idf("never-written"), Is.EqualTo(Math.Log(afterSecond.Documents)).Within(1e-12), "an unseen word is weighted as seen once");
        });
    }

    [Test]
    public async Task CountNewTexts_WhenOneKeyFloodsRandomWords_StaysWithinTheCaps()
    {
        var options = new ProfilingOptions { MaxTrackedTerms = 1_000, MaxNewTerms = 50, LdaIterations = 20 };
        var (db, _, vocabulary) = await SeededShopAsync(options);
        await using var _db = db;
        var trackedAtFit = await db.TextTerms.CountAsync();
        var random = new Random(11);
        // One key, many made-up users, each word written by several of them: every word would qualify on its own.
        var users = new List<long>();
        for (var u = 0; u < 40; u++)
        {
            users.Add(await AddUserAsync(db, $"flooder-{u}"));
        }

        for (var batch = 0; batch < 5; batch++)
        {
            var words = Enumerable.Range(0, 600).Select(_ => RandomWord(random)).ToList();
            foreach (var user in users)
            {
                await WriteAsync(db, user, [string.Join(' ', words.OrderBy(_ => random.Next()).Take(60))]);
            }

            await vocabulary.CountNewTextsAsync(Start.AddDays(1), CancellationToken.None);
        }

        var tracked = await db.TextTerms.CountAsync();
        var state = await db.TextCorpus.AsNoTracking().SingleAsync();
        var fitted = await db.TextModels.AsNoTracking().SingleAsync(m => m.IsActive);
        Assert.Multiple(() =>
        {
            Assert.That(trackedAtFit, Is.LessThan(options.MaxTrackedTerms), "the flood, not the fit, meets the cap");
            Assert.That(tracked, Is.EqualTo(options.MaxTrackedTerms));
            Assert.That(state.NewTerms, Is.EqualTo(options.MaxNewTerms));
            Assert.That(db.TextTerms.Count(t => t.Admitted), Is.EqualTo(fitted.VocabularySize + options.MaxNewTerms));
        });
    }

    [Test]
    public async Task RefreshQueued_WhenSavingFailsHalfway_LeavesStoredProfilesCountsAndQueueAsTheyWere()
    {
        var failing = new FailingSave();
        var (db, builder, vocabulary) = await SeededShopAsync(interceptor: failing);
        await using var _db = db;
        var kayaker = await AddUserAsync(db, "kayaker");
        await WriteAsync(db, kayaker, KayakReviews);
        await builder.RefreshQueuedAsync(CancellationToken.None);
        var profileBefore = await db.Profiles.AsNoTracking().SingleAsync(p => p.UserId == kayaker);
        var countsBefore = await db.TextTerms.AsNoTracking().OrderBy(t => t.Term).Select(t => new { t.Term, t.Documents, t.Admitted }).ToListAsync();
        var stateBefore = await db.TextCorpus.AsNoTracking().SingleAsync();

        await WriteAsync(db, kayaker, ["my kayak paddle snapped on the rapids, a canoe paddle next time"]);
        failing.Fail = entries => entries.Any(e => e.Entity is TextTerm);
        Assert.That(async () => await builder.RefreshQueuedAsync(CancellationToken.None), Throws.InstanceOf<InvalidOperationException>());
        var countsAfterFailedCount = await db.TextTerms.AsNoTracking().OrderBy(t => t.Term).Select(t => new { t.Term, t.Documents, t.Admitted }).ToListAsync();
        var stateAfterFailedCount = await db.TextCorpus.AsNoTracking().SingleAsync();

        failing.Fail = entries => entries.Any(e => e.Entity is UserProfile);
        Assert.That(async () => await builder.RefreshQueuedAsync(CancellationToken.None), Throws.InstanceOf<InvalidOperationException>());
        var profileAfter = await db.Profiles.AsNoTracking().SingleAsync(p => p.UserId == kayaker);
        var stillQueued = await db.ProfileRefreshRequests.AsNoTracking().AnyAsync(r => r.UserId == kayaker);

        failing.Fail = _ => false;
        await builder.RefreshQueuedAsync(CancellationToken.None);
        var profileRetried = await db.Profiles.AsNoTracking().SingleAsync(p => p.UserId == kayaker);

        Assert.Multiple(() =>
        {
            Assert.That(countsAfterFailedCount, Is.EqualTo(countsBefore), "a failed count changes no term");
            Assert.That(stateAfterFailedCount.CountedThroughTextId, Is.EqualTo(stateBefore.CountedThroughTextId), "nor the watermark");
            Assert.That(stateAfterFailedCount.Documents, Is.EqualTo(stateBefore.Documents));
            Assert.That(profileAfter.Version, Is.EqualTo(profileBefore.Version));
            Assert.That(profileAfter.KeywordsJson, Is.EqualTo(profileBefore.KeywordsJson));
            Assert.That(stillQueued, Is.True, "the user waits for the next refresh");
            Assert.That(profileRetried.Version, Is.EqualTo(profileBefore.Version + 1));
            Assert.That(Keywords(profileRetried), Does.Contain("canoe"));
        });
    }

    [Test]
    public async Task ForgetUser_WhenOnlyTheErasedUserWroteAWord_RemovesTheWordAndTheirTexts()
    {
        var (db, builder, _) = await SeededShopAsync();
        await using var _db = db;
        var kayaker = await AddUserAsync(db, "kayaker");
        await WriteAsync(db, kayaker, [.. KayakReviews, "signed zebedeewhistle, my own odd name"]);
        await builder.RefreshQueuedAsync(CancellationToken.None);
        var before = await db.TextCorpus.AsNoTracking().SingleAsync();
        var shoesBefore = await db.TextTerms.AsNoTracking().SingleAsync(t => t.Term == "shoes");

        await LiveVocabulary.ForgetUserAsync(db, kayaker, CancellationToken.None);
        var after = await db.TextCorpus.AsNoTracking().SingleAsync();

        Assert.Multiple(() =>
        {
            Assert.That(db.TextTerms.Any(t => t.Term == "zebedeewhistle" || t.Term == "kayak"), Is.False);
            Assert.That(after.Documents, Is.EqualTo(before.Documents - KayakReviews.Length - 1));
            Assert.That(db.TextTerms.AsNoTracking().Single(t => t.Term == "shoes").Documents, Is.EqualTo(shoesBefore.Documents), "other users' words keep their counts");
        });
    }

    [Test]
    public void Keywords_WhenAWordIsInMostTexts_LeavesItOutAndRanksRepeatedWordsFirst()
    {
        var rules = new TextModelOptions();
        var counts = new Dictionary<string, TermCount>(StringComparer.Ordinal)
        {
            ["great"] = new(80, Admitted: false),
            ["shoes"] = new(20, Admitted: true),
            ["trail"] = new(5, Admitted: true),
        };
        var statistics = new TermStatistics(100, 3, counts, rules);

        var keywords = statistics.Keywords(["great", "shoes", "shoes", "trail", "kayak", "kayak", "kayak", "kayak"], 10);

        Assert.Multiple(() =>
        {
            Assert.That(keywords.Select(k => k.Term), Is.EqualTo(new[] { "kayak", "shoes", "trail" }), "4 × ln 100, then 2 × ln 5 over 1 × ln 20; \"great\" is in most texts");
            Assert.That(keywords[0].Weight, Is.GreaterThan(keywords[1].Weight));
            Assert.That(Math.Sqrt(keywords.Sum(k => k.Weight * k.Weight)), Is.EqualTo(1).Within(1e-3));
        });
    }

    private static readonly string[] KayakReviews =
    [
        "The kayak paddle is superb, my kayak trips on the river are better with this carbon paddle",
        "Light carbon paddle, the kayak glides. Mail me at jo.kayak@example.com",
        "Took the kayak out at dawn, the paddle blade bites the water cleanly",
        "Call 0171 555 0199 if you want my old kayak paddle",
        "Kayak touring is easier with a feathered paddle",
        "Best paddle I have owned for sea kayak trips",
    ];

    private static string RandomWord(Random random) =>
        new(Enumerable.Range(0, 9).Select(_ => (char)('a' + random.Next(26))).ToArray());

    private static List<string> Keywords(UserProfile profile) =>
        JsonSerializer.Deserialize<List<WeightedTerm>>(profile.KeywordsJson, ProfileJson.Options)!.Select(k => k.Term).ToList();

    /// <summary>A shop of 60 users writing about six subjects, with a fitted text model, seeded counts and profiles.</summary>
    private async Task<(DiscountsDbContext Db, ProfileBuilder Builder, LiveVocabulary Vocabulary)> SeededShopAsync(
        ProfilingOptions? options = null, FailingSave? interceptor = null)
    {
        options ??= new ProfilingOptions { LdaIterations = 20, TopicCount = 4 };
        var paths = new DataPaths(directory);
        var builderOptions = new DbContextOptionsBuilder<DiscountsDbContext>().UseDiscountsSqlite(paths);
        if (interceptor is not null)
        {
            builderOptions.AddInterceptors(interceptor);
        }

        var db = new DiscountsDbContext(builderOptions.Options);
        await db.Database.MigrateAsync();
        for (var u = 0; u < 60; u++)
        {
            var user = await AddUserAsync(db, $"shopper-{u}");
            await WriteAsync(db, user, [Subjects[u % Subjects.Length], Subjects[(u + 1) % Subjects.Length] + " and great value"], Start.AddDays(-u));
        }

        var builder = new ProfileBuilder(db, new TextModelStore(paths), options, new FixedClock(Start.AddDays(1)));
        await builder.RebuildAllAsync(CancellationToken.None);
        return (db, builder, new LiveVocabulary(db, options));
    }

    private static async Task<long> AddUserAsync(DiscountsDbContext db, string externalId)
    {
        var user = new User { ExternalId = externalId, CreatedAt = Start, UpdatedAt = Start };
        db.Users.Add(user);
        await db.SaveChangesAsync();
        return user.Id;
    }

    /// <summary>Stores texts as ingestion does (cleaned, personal data scrubbed) and queues the user.</summary>
    private static async Task WriteAsync(DiscountsDbContext db, long userId, IReadOnlyList<string> texts, DateTime? at = null)
    {
        db.UserTexts.AddRange(texts.Select(t => new UserText { UserId = userId, Kind = TextKind.Review, Text = TextCleaner.Clean(t), OccurredAt = at ?? Start }));
        await ProfileBuilder.QueueAsync(db, [userId], Start, CancellationToken.None);
        await db.SaveChangesAsync();
        db.ChangeTracker.Clear();
    }

    private sealed class FixedClock(DateTime now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(now);
    }

    /// <summary>Throws from SaveChanges when the pending changes match <see cref="Fail"/>, as a crash or a full disk would mid-refresh.</summary>
    private sealed class FailingSave : SaveChangesInterceptor
    {
        public Func<IEnumerable<Microsoft.EntityFrameworkCore.ChangeTracking.EntityEntry>, bool> Fail { get; set; } = _ => false;

        public override ValueTask<InterceptionResult<int>> SavingChangesAsync(
            DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            if (Fail(eventData.Context!.ChangeTracker.Entries().Where(e => e.State != EntityState.Unchanged)))
            {
                throw new InvalidOperationException("Injected failure while saving.");
            }

            return base.SavingChangesAsync(eventData, result, cancellationToken);
        }
    }
}

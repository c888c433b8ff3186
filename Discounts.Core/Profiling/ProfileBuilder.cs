using System.Diagnostics;
using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Core.Profiling;

public sealed record ProfileBuildReport(string TextModelVersion, int Users, int Texts, double FitSeconds, double ScoreSeconds, bool Refitted);

public static class ProfileJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>The profile's keywords and its topics' words, as the content source reads them.</summary>
    public static IReadOnlyList<WeightedTerm> Interests(string keywordsJson, string topicsJson)
    {
        var interests = JsonSerializer.Deserialize<List<WeightedTerm>>(keywordsJson, Options) ?? [];
        foreach (var topic in JsonSerializer.Deserialize<List<UserTopic>>(topicsJson, Options) ?? [])
        {
            // A topic's words share its weight in the user's mix, so a strong topic counts like one good keyword.
            interests.AddRange(topic.TopWords.Select(word => new WeightedTerm(word, topic.Share / Math.Max(1, topic.TopWords.Count))));
        }

        return interests;
    }
}

/// <summary>
/// The active text model, loaded once and shared; and the gate that keeps two builds from running at once in a process.
/// </summary>
public sealed class TextModelStore(DataPaths paths)
{
    private TextProfileModel? current;

    public SemaphoreSlim BuildGate { get; } = new(1, 1);

    public string Directory => Path.Combine(paths.Models, "profiles");

    public async Task<TextProfileModel?> GetActiveAsync(DiscountsDbContext db, CancellationToken cancellationToken)
    {
        var version = await db.TextModels.AsNoTracking().Where(m => m.IsActive).Select(m => m.Version).FirstOrDefaultAsync(cancellationToken);
        if (version is null)
        {
            return null;
        }

        if (current?.Version == version)
        {
            return current;
        }

        // Another node (or an earlier run of this one) fitted it: load its files.
        if (!File.Exists(Path.Combine(Directory, version + ".zip")))
        {
            return null;
        }

        current = TextProfileModel.Load(Directory, version);
        return current;
    }

    public void Publish(TextProfileModel model) => current = model;
}

/// <summary>
/// Builds and stores profiles. A rebuild refits the text model on every stored text and rescores every user; a
/// refresh scores only the users queued since, against the active model, without refitting.
/// </summary>
public sealed class ProfileBuilder(DiscountsDbContext db, TextModelStore store, ProfilingOptions options, TimeProvider clock)
{
    private const int UsersPerChunk = 1_000;

    private readonly LiveVocabulary vocabulary = new(db, options);

    public async Task<ProfileBuildReport> RebuildAllAsync(CancellationToken cancellationToken)
    {
        await store.BuildGate.WaitAsync(cancellationToken);
        try
        {
            return await RebuildLockedAsync(cancellationToken);
        }
        finally
        {
            store.BuildGate.Release();
        }
    }

    public async Task<ProfileBuildReport> RefreshQueuedAsync(CancellationToken cancellationToken)
    {
        await store.BuildGate.WaitAsync(cancellationToken);
        try
        {
            var cutoff = clock.GetUtcNow().UtcDateTime;
            var model = await store.GetActiveAsync(db, cancellationToken);
            // The first texts of a shop fit its first model; a shop without any text gets behavioural profiles only.
            if (model is null && await db.UserTexts.AnyAsync(cancellationToken))
            {
                return await RebuildLockedAsync(cancellationToken);
            }

            var userIds = await db.ProfileRefreshRequests.Where(r => r.RequestedAt <= cutoff).Select(r => r.UserId).ToListAsync(cancellationToken);
            var started = Stopwatch.GetTimestamp();
            // New words count before anyone is scored, so a word written in this window already weighs in this refresh.
            if (await vocabulary.IsSeededAsync(cancellationToken))
            {
                await vocabulary.CountNewTextsAsync(cutoff, cancellationToken);
            }
            else
            {
                // A shop whose model was fitted before live counts existed: one pass over the corpus, no refit.
                var corpus = await ReadCorpusAsync(cancellationToken);
                await vocabulary.ReseedAsync(corpus, model?.Metadata.Vocabulary ?? [], model?.Version ?? "", cutoff, cancellationToken);
            }

            var texts = 0;
            foreach (var chunk in userIds.Chunk(UsersPerChunk))
            {
                texts += await BuildAndStoreAsync(chunk, model, cutoff, cancellationToken);
                await db.ProfileRefreshRequests.Where(r => chunk.Contains(r.UserId) && r.RequestedAt <= cutoff).ExecuteDeleteAsync(cancellationToken);
            }

            return new ProfileBuildReport(model?.Version ?? "", userIds.Count, texts, 0, Stopwatch.GetElapsedTime(started).TotalSeconds, Refitted: false);
        }
        finally
        {
            store.BuildGate.Release();
        }
    }

    public Task<bool> HasQueuedAsync(CancellationToken cancellationToken) => db.ProfileRefreshRequests.AnyAsync(cancellationToken);

    /// <summary>Queues users for the next refresh; the caller saves, so queueing commits with the change that caused it.</summary>
    public static async Task QueueAsync(DiscountsDbContext db, IReadOnlyCollection<long> userIds, DateTime nowUtc, CancellationToken cancellationToken)
    {
        var ids = userIds.Distinct().ToList();
        var queued = await db.ProfileRefreshRequests.Where(r => ids.Contains(r.UserId)).ToListAsync(cancellationToken);
        foreach (var request in queued)
        {
            request.RequestedAt = nowUtc;
        }

        var known = queued.Select(r => r.UserId).ToHashSet();
        db.ProfileRefreshRequests.AddRange(ids.Where(id => !known.Contains(id)).Select(id => new ProfileRefreshRequest { UserId = id, RequestedAt = nowUtc }));
    }

    private async Task<ProfileBuildReport> RebuildLockedAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var started = Stopwatch.GetTimestamp();
        var corpus = await ReadCorpusAsync(cancellationToken);
        var documents = corpus.Select(t => t.Tokens).ToList();
        var modelOptions = options.ToModelOptions();
        TextProfileModel? model = null;
        // A shop with (almost) no text yet still gets behavioural profiles; the text model comes with the text.
        if (TextProfileModel.ChooseVocabulary(documents, modelOptions).Count > 0)
        {
            model = TextProfileModel.Fit(documents, modelOptions, now);
            model.Save(store.Directory);
            await db.TextModels.Where(m => m.IsActive).ExecuteUpdateAsync(m => m.SetProperty(x => x.IsActive, false), cancellationToken);
            db.TextModels.Add(new TextModelRecord
            {
                Version = model.Version,
                FittedAt = now,
                DocumentCount = model.Metadata.DocumentCount,
                VocabularySize = model.Metadata.VocabularySize,
                TopicCount = model.Topics.Count,
                TopicsJson = JsonSerializer.Serialize(model.Topics, ProfileJson.Options),
                FitSeconds = Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 3),
                IsActive = true,
            });
            await db.SaveChangesAsync(cancellationToken);
            store.Publish(model);
            await PruneOldModelsAsync(cancellationToken);
        }

        await vocabulary.ReseedAsync(corpus, model?.Metadata.Vocabulary ?? [], model?.Version ?? "", now, cancellationToken);
        var fitSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        started = Stopwatch.GetTimestamp();
        var userIds = await db.Users.AsNoTracking().OrderBy(u => u.Id).Select(u => u.Id).ToListAsync(cancellationToken);
        foreach (var chunk in userIds.Chunk(UsersPerChunk))
        {
            await BuildAndStoreAsync(chunk, model, now, cancellationToken);
        }

        await db.ProfileRefreshRequests.Where(r => r.RequestedAt <= now).ExecuteDeleteAsync(cancellationToken);
        return new ProfileBuildReport(model?.Version ?? "", userIds.Count, corpus.Count, fitSeconds, Stopwatch.GetElapsedTime(started).TotalSeconds, Refitted: model is not null);
    }

    private async Task<List<CountedText>> ReadCorpusAsync(CancellationToken cancellationToken)
    {
        var rows = await db.UserTexts.AsNoTracking().OrderBy(t => t.Id).Select(t => new { t.Id, t.UserId, t.Text }).ToListAsync(cancellationToken);
        return rows.AsParallel().AsOrdered().Select(t => new CountedText(t.Id, t.UserId, Tokenizer.Tokenize(t.Text))).ToList();
    }

    /// <summary>Keeps the files of the newest few models (a node may still be loading the previous one) and deletes older ones.</summary>
    private async Task PruneOldModelsAsync(CancellationToken cancellationToken)
    {
        const int Kept = 3;
        var stale = await db.TextModels.Where(m => !m.IsActive).OrderByDescending(m => m.FittedAt).Skip(Kept - 1)
            .Select(m => m.Version).ToListAsync(cancellationToken);
        foreach (var version in stale)
        {
            foreach (var extension in new[] { ".zip", ".json" })
            {
                File.Delete(Path.Combine(store.Directory, version + extension));
            }
        }
    }

    /// <summary>What the given users wrote and did, all of it or up to <paramref name="asOf"/> (inclusive): the input of a profile.</summary>
    public static async Task<List<UserActivity>> LoadActivityAsync(
        DiscountsDbContext db, IReadOnlyCollection<long> userIds, DateTime? asOf, CancellationToken cancellationToken)
    {
        var textRows = db.UserTexts.AsNoTracking().Where(t => userIds.Contains(t.UserId));
        var eventRows = db.Events.AsNoTracking().Where(e => userIds.Contains(e.UserId));
        if (asOf is { } last)
        {
            textRows = textRows.Where(t => t.OccurredAt <= last);
            eventRows = eventRows.Where(e => e.OccurredAt <= last);
        }

        var texts = (await textRows.ToListAsync(cancellationToken)).ToLookup(t => t.UserId);
        var events = (await eventRows
                .Select(e => new
                {
                    e.UserId,
                    Event = new BehaviourEvent(e.Kind, e.Item!.Category, e.PriceCents, e.DiscountPercent, e.OfferId,
                        e.Offer != null && e.Offer.IsExploration, e.OccurredAt),
                })
                .ToListAsync(cancellationToken))
            .ToLookup(e => e.UserId, e => e.Event);
        return userIds.Select(id => new UserActivity(id, texts[id].ToList(), events[id].ToList())).ToList();
    }

    private async Task<int> BuildAndStoreAsync(long[] userIds, TextProfileModel? model, DateTime nowUtc, CancellationToken cancellationToken)
    {
        var activity = await LoadActivityAsync(db, userIds, asOf: null, cancellationToken);
        var documents = ProfileComputation.Documents(activity);
        var terms = await vocabulary.SnapshotAsync(documents.SelectMany(d => d).ToHashSet(StringComparer.Ordinal), cancellationToken);
        var built = ProfileComputation.Build(activity, documents, model, terms, nowUtc);

        var existing = await db.Profiles.Where(p => userIds.Contains(p.UserId)).ToDictionaryAsync(p => p.UserId, cancellationToken);
        foreach (var profile in built)
        {
            if (!existing.TryGetValue(profile.UserId, out var row))
            {
                row = new UserProfile { UserId = profile.UserId };
                db.Profiles.Add(row);
            }

            row.Version++;
            row.KeywordsJson = JsonSerializer.Serialize(profile.Keywords, ProfileJson.Options);
            row.TopicsJson = JsonSerializer.Serialize(profile.Topics, ProfileJson.Options);
            row.BehaviourJson = JsonSerializer.Serialize(profile.Behaviour, ProfileJson.Options);
            row.ProfileText = profile.ProfileText;
            row.TextModelVersion = profile.TextModelVersion;
            row.VocabularyVersion = profile.VocabularyVersion;
            row.UpdatedAt = nowUtc;
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        finally
        {
            // Saved or not, the rows are done with; a failed save must not ride along with the next one.
            db.ChangeTracker.Clear();
        }

        return activity.Sum(a => a.Texts.Count);
    }
}

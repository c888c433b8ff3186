using System.Security.Cryptography;
using System.Text;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore;

using Discounts.Training.Scorer;

namespace Discounts.Training.FineTuning;


/// <summary>One labelled (user, item) pair. <see cref="Key"/> names its source so a rerun can be compared.</summary>
public sealed record Example(string Key, long UserId, long ItemId, bool Bought);

/// <summary>Everything needed to reproduce a run's data: written to TrainingRun.DatasetSnapshotJson.</summary>
public sealed record DatasetSnapshot(
    int Items,
    int Users,
    int TrainExamples,
    int TrainPositives,
    int ValidationExamples,
    int ValidationPositives,
    int RankingUsers,
    DateTime HistoryFrom,
    DateTime ValidationFrom,
    DateTime HistoryTo,
    int Seed,
    string ExamplesSha256);

public sealed record TrainingDataset(
    IReadOnlyList<CatalogueItem> Items,
    IReadOnlyDictionary<long, string> UserTexts,
    IReadOnlyList<Example> Train,
    IReadOnlyList<Example> Validation,
    IReadOnlyList<(long UserId, long ItemId)> HeldOutPurchases,
    DatasetSnapshot Snapshot)
{
    /// <summary>A seeded shuffle of the training examples, capped, different for each epoch.</summary>
    public IReadOnlyList<Example> EpochSample(int epoch, int seed, int cap)
    {
        var random = new Random(seed + (7919 * epoch));
        var shuffled = Train.ToArray();
        random.Shuffle(shuffled);
        return shuffled.Length <= cap ? shuffled : shuffled[..cap];
    }
}

/// <summary>
/// Reads the training data from the shop database. Positives are purchases; negatives are items the user viewed or
/// clicked without buying, plus random catalogue items. History is split by time: the last
/// <see cref="FineTuneHyperparameters.ValidationDays"/> days are the validation split.
/// </summary>
public static class TrainingData
{
    private const int MaxValidationExamples = 3000;

    public static async Task<TrainingDataset> LoadAsync(DiscountsDbContext db, FineTuneHyperparameters hp, CancellationToken cancellationToken)
    {
        var items = await CatalogueTexts.LoadAsync(db, cancellationToken);
        var categories = await db.Items.AsNoTracking().ToDictionaryAsync(i => i.Id, i => i.Category, cancellationToken);
        var events = await db.Events.AsNoTracking()
            .Where(e => e.Kind == EventKind.Purchase || e.Kind == EventKind.View || e.Kind == EventKind.Click)
            .OrderBy(e => e.Id)
            .Select(e => new { e.Id, e.UserId, e.ItemId, e.Kind, e.OccurredAt })
            .ToListAsync(cancellationToken);
        var erased = await ErasedUsersAsync(db, cancellationToken);
        if (erased.Count > 0)
        {
            events = events.Where(e => !erased.TryGetValue(e.UserId, out var erasedAt) || e.OccurredAt > erasedAt).ToList();
        }

        if (items.Count == 0 || !events.Any(e => e.Kind == EventKind.Purchase))
            throw new InvalidOperationException("The shop has no purchases to learn from.");

        var from = events.Min(e => e.OccurredAt);
        var to = events.Max(e => e.OccurredAt);
        var cutoff = to.AddDays(-hp.ValidationDays);
        var random = new Random(hp.Seed);
        var itemIds = items.Select(i => i.Id).ToArray();

        var before = events.Where(e => e.OccurredAt < cutoff).ToList();
        var after = events.Where(e => e.OccurredAt >= cutoff).ToList();
        var boughtBefore = before.Where(e => e.Kind == EventKind.Purchase).Select(e => (e.UserId, e.ItemId)).ToHashSet();
        var boughtEver = events.Where(e => e.Kind == EventKind.Purchase).Select(e => (e.UserId, e.ItemId)).ToHashSet();

        var train = Split("t", before.Select(e => (e.Id, e.UserId, e.ItemId, e.Kind)), boughtBefore, itemIds, hp, random);
        var validation = Split("v", after.Select(e => (e.Id, e.UserId, e.ItemId, e.Kind)), boughtEver, itemIds, hp, random);
        if (validation.Count > MaxValidationExamples)
        {
            var shuffled = validation.ToArray();
            random.Shuffle(shuffled);
            validation = [.. shuffled[..MaxValidationExamples]];
        }

        // Each validation user's first purchase after the cutoff, of an item not bought before it, is ranked against the whole catalogue.
        var heldOut = after.Where(e => e.Kind == EventKind.Purchase && !boughtBefore.Contains((e.UserId, e.ItemId)))
            .GroupBy(e => e.UserId).Select(g => g.First()).OrderBy(e => e.UserId)
            .Select(e => (e.UserId, e.ItemId)).ToArray();
        random.Shuffle(heldOut);
        heldOut = heldOut.Length > hp.MaxValidationUsers ? heldOut[..hp.MaxValidationUsers] : heldOut;

        var userTexts = await UserTextsAsync(db, before.Where(e => e.Kind == EventKind.Purchase).Select(e => (e.UserId, categories[e.ItemId])), cutoff, erased, cancellationToken);
        var keys = string.Join("\n", train.Select(e => e.Key)) + "\n--\n" + string.Join("\n", validation.Select(e => e.Key));
        var snapshot = new DatasetSnapshot(
            items.Count,
            userTexts.Count,
            train.Count,
            train.Count(e => e.Bought),
            validation.Count,
            validation.Count(e => e.Bought),
            heldOut.Length,
            from,
            cutoff,
            to,
            hp.Seed,
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(keys))));
        return new TrainingDataset(items, userTexts, train, validation, heldOut, snapshot);
    }

    private static List<Example> Split(
        string prefix,
        IEnumerable<(long Id, long UserId, long ItemId, EventKind Kind)> events,
        HashSet<(long, long)> bought,
        long[] itemIds,
        FineTuneHyperparameters hp,
        Random random)
    {
        var examples = new List<Example>();
        // Keyed by kind too: a purchase usually follows a view of the same item, and must not be skipped as a repeat.
        var seen = new HashSet<(bool, long, long)>();
        foreach (var e in events)
        {
            if (!seen.Add((e.Kind == EventKind.Purchase, e.UserId, e.ItemId))) continue;
            if (e.Kind == EventKind.Purchase)
            {
                examples.Add(new Example($"{prefix}:p:{e.Id}", e.UserId, e.ItemId, true));
                for (var n = 0; n < hp.SampledNegativesPerPositive; n++)
                {
                    var item = itemIds[random.Next(itemIds.Length)];
                    if (!bought.Contains((e.UserId, item)))
                        examples.Add(new Example($"{prefix}:s:{e.UserId}:{item}", e.UserId, item, false));
                }
            }
            else if (!bought.Contains((e.UserId, e.ItemId)))
            {
                examples.Add(new Example($"{prefix}:i:{e.Id}", e.UserId, e.ItemId, false));
            }
        }
        return examples;
    }

    /// <summary>
    /// The user side as of the cutoff: the stored profile text when the user has one, else <see cref="UserSide.UserSideText"/>
    /// over texts written and categories bought before the cutoff.
    /// </summary>
    private static async Task<Dictionary<long, string>> UserTextsAsync(
        DiscountsDbContext db, IEnumerable<(long UserId, string Category)> purchases, DateTime cutoff, IReadOnlyDictionary<long, DateTime> erased,
        CancellationToken cancellationToken)
    {
        var users = await db.Users.AsNoTracking().Select(u => u.Id).ToListAsync(cancellationToken);
        // A re-created user's stored profile may fold in re-sent pre-erasure text, so theirs is rebuilt from what is left.
        var profiles = await db.Profiles.AsNoTracking().Where(p => p.ProfileText != "")
            .ToDictionaryAsync(p => p.UserId, p => p.ProfileText, cancellationToken);
        foreach (var userId in erased.Keys)
        {
            profiles.Remove(userId);
        }

        var texts = (await db.UserTexts.AsNoTracking().Where(t => t.OccurredAt < cutoff)
                .OrderByDescending(t => t.OccurredAt).Select(t => new { t.UserId, t.Text, t.OccurredAt }).ToListAsync(cancellationToken))
            .Where(t => !erased.TryGetValue(t.UserId, out var erasedAt) || t.OccurredAt > erasedAt)
            .ToLookup(t => t.UserId, t => t.Text);
        var bought = purchases.ToLookup(p => p.UserId, p => p.Category);
        return users.ToDictionary(id => id, id => profiles.GetValueOrDefault(id) ?? UserSide.UserSideText(texts[id], bought[id]));
    }

    /// <summary>
    /// Current users whose id was erased before (DELETE /api/users/{id}), with the latest erasure time: anything of
    /// theirs dated up to then is data the shop re-sent after the erasure and is never trained on.
    /// </summary>
    public static async Task<Dictionary<long, DateTime>> ErasedUsersAsync(DiscountsDbContext db, CancellationToken cancellationToken)
    {
        var tombstones = (await db.ErasedUsers.AsNoTracking().Select(e => new { e.ExternalIdSha256, e.ErasedAt }).ToListAsync(cancellationToken))
            .GroupBy(e => e.ExternalIdSha256, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Max(e => e.ErasedAt), StringComparer.Ordinal);
        if (tombstones.Count == 0) return new Dictionary<long, DateTime>();
        var users = await db.Users.AsNoTracking().Select(u => new { u.Id, u.ExternalId }).ToListAsync(cancellationToken);
        var erased = new Dictionary<long, DateTime>();
        foreach (var user in users)
        {
            if (tombstones.TryGetValue(ErasedUser.HashOf(user.ExternalId), out var erasedAt)) erased[user.Id] = erasedAt;
        }

        return erased;
    }
}

using System.Security.Cryptography;
using System.Text;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Scoring;
using Discounts.Training.Scorer;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Training.FineTuning;

/// <summary>
/// A validation user of the sequence fine-tune: what the user tower reads as of the cut-off (texts written and items
/// chosen before it), the items masked from the ranking, and the first item they chose after it that they had not before.
/// </summary>
public sealed record ValidationChoice(long UserId, ScorerUser Input, IReadOnlyList<long> History, long Target);

/// <summary>A text a user wrote, a row of the sequence scorer's history table after the items'.</summary>
public sealed record WrittenText(long UserId, string Text, DateTime OccurredAt);

/// <summary>A training example: the user's history as rows (oldest first) when they chose the target item.</summary>
public sealed record ShopExample(long UserId, DateTime ChosenAt, int[] History, int Target);

/// <summary>
/// The shop's choices split at the blend's cut-off, for the sequence scorer. A history is a row list, oldest first: the
/// user's newest texts (rows after the items', <see cref="UserTexts"/>) and then their newest distinct items, all from
/// before the choice it explains; the tower reads it newest first, items then texts.
/// </summary>
public sealed record SequenceShopData(
    IReadOnlyList<CatalogueItem> Items,
    IReadOnlyList<WrittenText> UserTexts,
    IReadOnlyList<ShopExample> Examples,
    IReadOnlyList<ValidationChoice> Validation,
    IReadOnlyList<(int[] History, int Target)> FitValidation,
    DatasetSnapshot Snapshot)
{
    /// <summary>
    /// Reads the events the blend counts (clicks, carts, purchases) and the users' texts, and splits them where the
    /// blend does: the last <paramref name="validationDays"/> days before the newest event are validation. A training
    /// example holds only texts and events from before its choice, and no choice after the cut-off; a validation
    /// user's input holds only texts and events up to the cut-off. What was re-sent for an erased user (dated up to
    /// the erasure) is left out.
    /// </summary>
    public static async Task<SequenceShopData> LoadAsync(DiscountsDbContext db, int validationDays, int maxValidationUsers, int seed, CancellationToken cancellationToken)
    {
        var items = await CatalogueTexts.LoadAsync(db, cancellationToken);
        var categories = await db.Items.AsNoTracking().ToDictionaryAsync(i => i.Id, i => i.Category, cancellationToken);
        var erased = await TrainingData.ErasedUsersAsync(db, cancellationToken);
        bool Kept(long userId, DateTime at) => !erased.TryGetValue(userId, out var erasedAt) || at > erasedAt;
        var events = (await db.Events.AsNoTracking()
                .Where(e => ScorerHistory.Kinds.Contains(e.Kind))
                .OrderBy(e => e.OccurredAt).ThenBy(e => e.Id)
                .Select(e => new { e.UserId, e.ItemId, e.Kind, e.OccurredAt })
                .ToListAsync(cancellationToken))
            .Where(e => Kept(e.UserId, e.OccurredAt))
            .ToList();
        if (items.Count == 0 || events.Count == 0) throw new InvalidOperationException("The shop has no clicks, carts or purchases to learn from.");

        var from = events[0].OccurredAt;
        var to = events[^1].OccurredAt;
        var cutoff = to.AddDays(-validationDays);
        var texts = (await db.UserTexts.AsNoTracking().Where(t => t.OccurredAt <= cutoff)
                .OrderBy(t => t.OccurredAt).ThenBy(t => t.Id).Select(t => new { t.UserId, t.Text, t.OccurredAt }).ToListAsync(cancellationToken))
            .Where(t => Kept(t.UserId, t.OccurredAt))
            .ToList();
        var textsByUser = texts.Select((t, row) => (t.UserId, t.Text, t.OccurredAt, Row: items.Count + row)).ToLookup(t => t.UserId);
        var rowOf = items.Select((item, row) => (item.Id, row)).ToDictionary(p => p.Id, p => p.row);

        var examples = new List<ShopExample>();
        var choices = new List<(long UserId, List<long> Before, long Target)>();
        foreach (var user in events.GroupBy(e => e.UserId).OrderBy(g => g.Key))
        {
            var written = textsByUser[user.Key].ToList();
            // Each item is a target once, where it was first chosen: a repeat has nothing new to predict. The history
            // orders items by their latest choice, as serving reads them (ScorerHistory.Recent).
            var chosen = new List<long>();
            var seen = new HashSet<long>();
            foreach (var e in user.Where(e => e.OccurredAt <= cutoff))
            {
                if (seen.Add(e.ItemId))
                {
                    var history = SequenceScorer.History(written.TakeWhile(t => t.OccurredAt < e.OccurredAt).Select(t => t.Row), chosen.Select(id => rowOf[id]));
                    if (history.Length > 0) examples.Add(new ShopExample(user.Key, e.OccurredAt, history, rowOf[e.ItemId]));
                }
                else
                {
                    chosen.Remove(e.ItemId);
                }

                chosen.Add(e.ItemId);
            }

            var target = user.Where(e => e.OccurredAt > cutoff).Select(e => e.ItemId).FirstOrDefault(id => !seen.Contains(id), -1);
            if (target >= 0) choices.Add((user.Key, chosen, target));
        }

        var random = new Random(seed);
        var picked = choices.ToArray();
        random.Shuffle(picked);
        picked = picked.Length > maxValidationUsers ? picked[..maxValidationUsers] : picked;
        var purchases = events.Where(e => e.OccurredAt <= cutoff && e.Kind == EventKind.Purchase).ToLookup(e => e.UserId, e => categories[e.ItemId]);
        var validation = new List<ValidationChoice>();
        var fitValidation = new List<(int[] History, int Target)>();
        foreach (var (userId, before, target) in picked.OrderBy(p => p.UserId))
        {
            var written = textsByUser[userId].ToList();
            var newestTexts = Enumerable.Reverse(written).Select(t => t.Text).ToList();
            var profileText = newestTexts.Count > 0 || purchases[userId].Any() ? UserSide.UserSideText(newestTexts, purchases[userId]) : "";
            var newestItems = Enumerable.Reverse(before).ToList();
            var input = new ScorerUser(profileText, newestItems.Take(ScorerHistory.MaxItems).ToList(), newestTexts.Take(ScorerHistory.MaxTexts).ToList());
            if (input.Text.Length == 0 && newestItems.Count == 0 && newestTexts.Count == 0) continue;
            validation.Add(new ValidationChoice(userId, input, newestItems, target));
            var history = SequenceScorer.History(written.Select(t => t.Row), before.Select(id => rowOf[id]));
            if (history.Length > 0) fitValidation.Add((history, rowOf[target]));
        }

        var keys = string.Join("\n", examples.Select(e => $"{string.Join(",", e.History)}>{e.Target}")) + "\n--\n"
                   + string.Join("\n", validation.Select(v => $"{v.UserId}:{v.Target}"));
        var snapshot = new DatasetSnapshot(items.Count, events.Select(e => e.UserId).Distinct().Count(), examples.Count, examples.Count, validation.Count,
            validation.Count, validation.Count, from, cutoff, to, seed, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(keys))));
        return new SequenceShopData(items, [.. texts.Select(t => new WrittenText(t.UserId, t.Text, t.OccurredAt))], examples, validation, fitValidation, snapshot);
    }
}

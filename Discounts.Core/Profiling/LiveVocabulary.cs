using System.Numerics;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Core.Profiling;

/// <summary>How often one term occurs in a set of texts, and a mask of the users who wrote it.</summary>
public readonly record struct TermTally(int Documents, long UserBits);

/// <summary>One stored text, reduced to what the counts need.</summary>
public sealed record CountedText(long Id, long UserId, IReadOnlyList<string> Tokens);

/// <summary>
/// The document counts behind <see cref="TermStatistics"/>, kept in the database as texts arrive so every node sees
/// the same vocabulary between fits. A fit seeds them from the whole corpus; each refresh first counts the texts
/// stored since. A term enters the vocabulary by the fit's own rule (at least two texts, at most the share) once
/// enough distinct users wrote it, so one key cannot push its words in alone; tracked terms and terms admitted
/// between fits are both capped.
/// </summary>
public sealed class LiveVocabulary(DiscountsDbContext db, ProfilingOptions options)
{
    /// <summary>Texts counted per transaction: bounds one count's memory and how long it holds the write lock.</summary>
    private const int TextsPerBatch = 20_000;

    private readonly TextModelOptions rules = options.ToModelOptions();

    /// <summary>Tallies terms per text: each text counts a term once; users are hashed into one of 64 bits.</summary>
    public static Dictionary<string, TermTally> Tally(IEnumerable<CountedText> texts)
    {
        var tallies = new Dictionary<string, TermTally>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            seen.Clear();
            var bit = UserBit(text.UserId);
            foreach (var term in text.Tokens)
            {
                if (seen.Add(term))
                {
                    var tally = tallies.GetValueOrDefault(term);
                    tallies[term] = new TermTally(tally.Documents + 1, tally.UserBits | bit);
                }
            }
        }

        return tallies;
    }

    /// <summary>A lower bound on the distinct users behind a mask: different bits need different users.</summary>
    public static int DistinctUsers(long userBits) => BitOperations.PopCount((ulong)userBits);

    /// <summary>SplitMix64's finaliser: consecutive ids land on unrelated bits.</summary>
    private static long UserBit(long userId)
    {
        var z = (ulong)userId + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return 1L << (int)(z & 63);
    }

    /// <summary>Whether the counts exist yet; they are seeded by the first fit, or by <see cref="ReseedAsync"/> on a shop upgraded from before them.</summary>
    public Task<bool> IsSeededAsync(CancellationToken cancellationToken) => db.TextCorpus.AnyAsync(cancellationToken);

    /// <summary>
    /// Replaces every count with those of <paramref name="corpus"/>, the texts a fit read: the fitted vocabulary is
    /// admitted, the other terms are tracked by falling document count up to the cap. One transaction, so a failure
    /// leaves the previous counts whole.
    /// </summary>
    public async Task ReseedAsync(
        IReadOnlyList<CountedText> corpus, IReadOnlyCollection<string> fittedVocabulary, string textModelVersion, DateTime nowUtc,
        CancellationToken cancellationToken)
    {
        var tallies = Tally(corpus);
        var fitted = fittedVocabulary.ToHashSet(StringComparer.Ordinal);
        var rows = tallies
            .OrderByDescending(t => fitted.Contains(t.Key)).ThenByDescending(t => t.Value.Documents).ThenBy(t => t.Key, StringComparer.Ordinal)
            .Take(options.MaxTrackedTerms)
            .Select(t => new TextTerm
            {
                Term = t.Key, Documents = t.Value.Documents, UserBits = t.Value.UserBits, Admitted = fitted.Contains(t.Key), UpdatedAt = nowUtc,
            })
            .ToList();

        try
        {
            await ReplaceCountsAsync(rows, corpus, textModelVersion, nowUtc, cancellationToken);
        }
        finally
        {
            db.ChangeTracker.Clear();
        }
    }

    private async Task ReplaceCountsAsync(List<TextTerm> rows, IReadOnlyList<CountedText> corpus, string textModelVersion, DateTime nowUtc, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // The state row first: it is what a concurrent count claims, so that count waits for this one and then retries.
        var state = await db.TextCorpus.FirstOrDefaultAsync(cancellationToken);
        if (state is null)
        {
            state = new TextCorpusState();
            db.TextCorpus.Add(state);
        }

        state.CountedThroughTextId = corpus.Count == 0 ? 0 : corpus.Max(t => t.Id);
        state.Documents = corpus.Count;
        state.VocabularyVersion++;
        state.NewTerms = 0;
        state.TextModelVersion = textModelVersion;
        state.UpdatedAt = nowUtc;
        await db.SaveChangesAsync(cancellationToken);
        await db.TextTerms.ExecuteDeleteAsync(cancellationToken);
        db.TextTerms.AddRange(rows);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Counts the texts stored since the last count, a batch per transaction. Each batch claims its range by moving
    /// the state's watermark with a conditional update; a node that loses the claim rolls back and reads on from the
    /// new watermark, so no text is counted twice.
    /// </summary>
    /// <returns>How many texts this call counted.</returns>
    public async Task<int> CountNewTextsAsync(DateTime nowUtc, CancellationToken cancellationToken)
    {
        var counted = 0;
        while (await db.TextCorpus.AsNoTracking().FirstOrDefaultAsync(cancellationToken) is { } state)
        {
            var batch = await db.UserTexts.AsNoTracking()
                .Where(t => t.Id > state.CountedThroughTextId)
                .OrderBy(t => t.Id)
                .Take(TextsPerBatch)
                .Select(t => new { t.Id, t.UserId, t.Text })
                .ToListAsync(cancellationToken);
            if (batch.Count == 0)
            {
                break;
            }

            var texts = batch.AsParallel().AsOrdered().Select(t => new CountedText(t.Id, t.UserId, Tokenizer.Tokenize(t.Text))).ToList();
            if (await CountBatchAsync(state, texts, nowUtc, cancellationToken))
            {
                counted += texts.Count;
            }
        }

        return counted;
    }

    private async Task<bool> CountBatchAsync(TextCorpusState state, IReadOnlyList<CountedText> texts, DateTime nowUtc, CancellationToken cancellationToken)
    {
        var tallies = Tally(texts);
        var through = texts[^1].Id;
        var documents = state.Documents + texts.Count;
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var claimed = await db.TextCorpus
                .Where(s => s.Id == state.Id && s.CountedThroughTextId == state.CountedThroughTextId)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.CountedThroughTextId, through), cancellationToken);
            if (claimed == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return false;
            }

            var terms = tallies.Keys.ToList();
            var rows = await db.TextTerms.Where(t => terms.Contains(t.Term)).ToDictionaryAsync(t => t.Term, StringComparer.Ordinal, cancellationToken);
            var room = options.MaxTrackedTerms - await db.TextTerms.CountAsync(cancellationToken);
            var admitted = 0;
            foreach (var term in terms.Order(StringComparer.Ordinal))
            {
                var tally = tallies[term];
                if (!rows.TryGetValue(term, out var row))
                {
                    if (room <= 0)
                    {
                        // Untracked terms still weigh in their own user's profile, as terms seen once.
                        continue;
                    }

                    room--;
                    row = new TextTerm { Term = term };
                    db.TextTerms.Add(row);
                }

                row.Documents += tally.Documents;
                row.UserBits |= tally.UserBits;
                row.UpdatedAt = nowUtc;
                if (!row.Admitted && state.NewTerms + admitted < options.MaxNewTerms && Qualifies(row, documents))
                {
                    row.Admitted = true;
                    admitted++;
                }
            }

            await db.SaveChangesAsync(cancellationToken);
            await db.TextCorpus.Where(s => s.Id == state.Id).ExecuteUpdateAsync(s => s
                .SetProperty(x => x.Documents, documents)
                .SetProperty(x => x.NewTerms, x => x.NewTerms + admitted)
                .SetProperty(x => x.VocabularyVersion, x => x.VocabularyVersion + (admitted > 0 ? 1 : 0))
                .SetProperty(x => x.UpdatedAt, nowUtc), cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            // A failed batch leaves nothing tracked behind for the next save to write.
            db.ChangeTracker.Clear();
        }

        return true;
    }

    private bool Qualifies(TextTerm row, int documents) =>
        row.Documents >= rules.MinDocumentFrequency
        && row.Documents <= TermStatistics.MaxDocuments(documents, rules)
        && DistinctUsers(row.UserBits) >= options.NewTermMinUsers;

    /// <summary>The counts of the given terms, with N and the vocabulary version; null before the counts are seeded.</summary>
    public async Task<TermStatistics?> SnapshotAsync(IReadOnlyCollection<string> terms, CancellationToken cancellationToken)
    {
        var state = await db.TextCorpus.AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        if (state is null)
        {
            return null;
        }

        var wanted = terms.ToList();
        var counts = await db.TextTerms.AsNoTracking()
            .Where(t => wanted.Contains(t.Term))
            .ToDictionaryAsync(t => t.Term, t => new TermCount(t.Documents, t.Admitted), StringComparer.Ordinal, cancellationToken);
        return new TermStatistics(state.Documents, state.VocabularyVersion, counts, rules);
    }

    /// <summary>
    /// Takes an erased user's counted texts out of the counts, and drops terms no text holds any more, so a word only
    /// they wrote (a name, say) is not kept. Runs inside the erasure's transaction. The user bits stay: they are a hash
    /// bit, not an id, and a missed bit only delays a term's admission.
    /// </summary>
    public static async Task ForgetUserAsync(DiscountsDbContext db, long userId, CancellationToken cancellationToken)
    {
        var state = await db.TextCorpus.FirstOrDefaultAsync(cancellationToken);
        if (state is null)
        {
            return;
        }

        var texts = await db.UserTexts.AsNoTracking()
            .Where(t => t.UserId == userId && t.Id <= state.CountedThroughTextId)
            .Select(t => new { t.Id, t.Text })
            .ToListAsync(cancellationToken);
        if (texts.Count == 0)
        {
            return;
        }

        var tallies = Tally(texts.Select(t => new CountedText(t.Id, userId, Tokenizer.Tokenize(t.Text))));
        var terms = tallies.Keys.ToList();
        foreach (var row in await db.TextTerms.Where(t => terms.Contains(t.Term)).ToListAsync(cancellationToken))
        {
            row.Documents -= tallies[row.Term].Documents;
            if (row.Documents <= 0)
            {
                db.TextTerms.Remove(row);
            }
        }

        state.Documents = Math.Max(0, state.Documents - texts.Count);
        await db.SaveChangesAsync(cancellationToken);
    }
}

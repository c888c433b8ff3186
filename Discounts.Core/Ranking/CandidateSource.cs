namespace Discounts.Core.Ranking;

/// <summary>An item proposed for a user, with the score and the name of the source that proposed it.</summary>
public readonly record struct ScoredCandidate(int Item, float Score, string Source);

/// <summary>
/// A source of candidates: given a user's history (item indices, oldest first), it scores every item it has an opinion
/// on. Scores are comparable within one source and one history only; a blend normalises them.
/// </summary>
public abstract class CandidateSource(string name, int itemCount)
{
    public string Name { get; } = name;

    public int ItemCount { get; } = itemCount;

    /// <summary>False when the scores ignore the history (popularity), so callers may compute them once.</summary>
    public virtual bool DependsOnHistory => true;

    /// <summary>Adds weight × score into <paramref name="scores"/> (one slot per item); items without a score are left as they are.</summary>
    public abstract void AddScores(ReadOnlySpan<int> history, float weight, float[] scores);

    /// <summary>The <paramref name="count"/> best-scored items with a positive score, excluding those in the history.</summary>
    public IReadOnlyList<ScoredCandidate> Candidates(ReadOnlySpan<int> history, int count)
    {
        var scores = new float[ItemCount];
        AddScores(history, 1f, scores);
        foreach (var item in history)
        {
            scores[item] = 0;
        }

        var best = new PriorityQueue<int, (float Score, int NegativeItem)>(count + 1);
        for (var item = 0; item < scores.Length; item++)
        {
            if (scores[item] <= 0)
            {
                continue;
            }

            best.Enqueue(item, (scores[item], -item));
            if (best.Count > count)
            {
                best.Dequeue();
            }
        }

        var candidates = new ScoredCandidate[best.Count];
        for (var i = candidates.Length - 1; i >= 0; i--)
        {
            var item = best.Dequeue();
            candidates[i] = new ScoredCandidate(item, scores[item], Name);
        }

        return candidates;
    }
}

namespace Discounts.Core.Recommending;

/// <summary>
/// The candidates of one ranking by catalogue row: a dense array and a bit per row, reused by the thread
/// (generation never awaits). Reading the bits in order gives the candidates in item order without a sort.
/// </summary>
public sealed class CandidateSet
{
    [ThreadStatic]
    private static CandidateSet? current;

    private Candidate?[] byItem = [];
    private ulong[] present = [];
    private bool taken = true;

    /// <summary>Left clean by <see cref="TakeInItemOrder"/>; cleaned here only when a ranking threw before taking.</summary>
    public static CandidateSet For(int items)
    {
        var set = current ??= new CandidateSet();
        if (!set.taken)
        {
            set.TakeInItemOrder(_ => false);
        }

        set.taken = false;
        if (set.byItem.Length < items)
        {
            set.byItem = new Candidate?[items];
            set.present = new ulong[(items + 63) / 64];
        }

        return set;
    }

    public Candidate Get(int item)
    {
        if (byItem[item] is not { } candidate)
        {
            byItem[item] = candidate = new Candidate(item);
            present[item >> 6] |= 1UL << item;
        }

        return candidate;
    }

    /// <summary>The candidates that pass <paramref name="keep"/>, in item order, so everything downstream is deterministic; then clears itself.</summary>
    public List<Candidate> TakeInItemOrder(Func<int, bool> keep)
    {
        var kept = new List<Candidate>();
        for (var word = 0; word < present.Length; word++)
        {
            for (var bits = present[word]; bits != 0; bits &= bits - 1)
            {
                var item = (word << 6) + System.Numerics.BitOperations.TrailingZeroCount(bits);
                if (keep(item))
                {
                    kept.Add(byItem[item]!);
                }

                byItem[item] = null;
            }

            present[word] = 0;
        }

        taken = true;
        return kept;
    }
}

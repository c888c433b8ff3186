namespace Discounts.Core.Recommending;

/// <summary>Top-k without sorting everything: a quickselect moves the k smallest keys to the front, and only those are sorted.</summary>
internal static class Selection
{
    /// <summary>The <paramref name="count"/> smallest keys, smallest first, rearranging <paramref name="keys"/> in place.</summary>
    public static Span<T> SmallestSorted<T>(Span<T> keys, int count) where T : IComparable<T>
    {
        if (count <= 0)
        {
            return [];
        }

        if (keys.Length > count)
        {
            MoveSmallestToFront(keys, count);
            keys = keys[..count];
        }

        keys.Sort();
        return keys;
    }

    /// <summary>Hoare-style quickselect (middle pivot, deterministic): afterwards the first <paramref name="count"/> keys are the smallest.</summary>
    private static void MoveSmallestToFront<T>(Span<T> keys, int count) where T : IComparable<T>
    {
        var low = 0;
        var high = keys.Length - 1;
        while (low < high)
        {
            var pivot = keys[low + ((high - low) >> 1)];
            var i = low;
            var j = high;
            while (i <= j)
            {
                while (keys[i].CompareTo(pivot) < 0)
                {
                    i++;
                }

                while (keys[j].CompareTo(pivot) > 0)
                {
                    j--;
                }

                if (i <= j)
                {
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                    i++;
                    j--;
                }
            }

            // [low, j] holds keys ≤ pivot, [i, high] keys ≥ pivot; keep narrowing the side that holds position count - 1.
            if (count - 1 <= j)
            {
                high = j;
            }
            else if (count - 1 >= i)
            {
                low = i;
            }
            else
            {
                return;
            }
        }
    }
}

namespace Discounts.Core.Recommending;

/// <summary>
/// Keeps one category from filling the top of a list: walking the ranked list, an item whose category already holds
/// <c>maxPerCategory</c> of the first <c>window</c> places waits until after them. If the candidates span too few
/// categories to fill the window under the cap, the waiting items fill it in rank order.
/// </summary>
public static class Diversity
{
    public static List<T> Apply<T>(IReadOnlyList<T> ranked, Func<T, int> category, int maxPerCategory, int window, int count) =>
        Apply(ranked, category, maxPerCategory, window, count, out _);

    /// <param name="ranOut">
    /// Whether the walk reached the end of <paramref name="ranked"/> before the list was decided: when that is a prefix
    /// of the full ranking, items beyond it could have changed the result.
    /// </param>
    public static List<T> Apply<T>(IReadOnlyList<T> ranked, Func<T, int> category, int maxPerCategory, int window, int count, out bool ranOut)
    {
        var result = new List<T>(Math.Min(count, ranked.Count));
        var waiting = new List<T>();
        var perCategory = new Dictionary<int, int>();
        var next = 0;
        while (result.Count < Math.Min(window, count) && next < ranked.Count)
        {
            var item = ranked[next++];
            var c = category(item);
            if (perCategory.GetValueOrDefault(c) < maxPerCategory)
            {
                perCategory[c] = perCategory.GetValueOrDefault(c) + 1;
                result.Add(item);
            }
            else
            {
                waiting.Add(item);
            }
        }

        ranOut = result.Count < Math.Min(window, count);
        // The rest keeps rank order: the waiting items (ranked above everything not yet visited) first.
        foreach (var item in waiting.Concat(ranked.Skip(next)))
        {
            if (result.Count >= count)
            {
                break;
            }

            result.Add(item);
        }

        ranOut |= result.Count < count;
        return result;
    }
}

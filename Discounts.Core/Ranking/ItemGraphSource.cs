namespace Discounts.Core.Ranking;

/// <summary>
/// Scores the neighbours of the user's last <see cref="HistoryItems"/> items in an <see cref="ItemGraph"/>; the most
/// recent item weighs 1, the one before it <see cref="RecencyDecay"/>, then RecencyDecay², because the next purchase
/// follows the latest ones most closely.
/// </summary>
public sealed class ItemGraphSource(string name, ItemGraph graph, int historyItems, float recencyDecay)
    : CandidateSource(name, graph.ItemCount)
{
    public ItemGraph Graph { get; } = graph;

    public int HistoryItems { get; } = historyItems;

    public float RecencyDecay { get; } = recencyDecay;

    public override void AddScores(ReadOnlySpan<int> history, float weight, float[] scores)
    {
        var itemWeight = weight;
        var oldest = Math.Max(0, history.Length - HistoryItems);
        for (var position = history.Length - 1; position >= oldest; position--)
        {
            var neighbours = Graph.Neighbours(history[position]);
            var weights = Graph.NeighbourWeights(history[position]);
            for (var i = 0; i < neighbours.Length; i++)
            {
                scores[neighbours[i]] += itemWeight * weights[i];
            }

            itemWeight *= RecencyDecay;
        }
    }
}

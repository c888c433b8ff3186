using Discounts.Core.Scoring;
using Discounts.Training.Scorer;

namespace Discounts.Training.Serving;

/// <summary>What a <see cref="ScorerSnapshot"/> serves with: a model that turns items and users into vectors of one size, and a vector pair into p(buy).</summary>
internal interface IServedModel : IDisposable
{
    int Dimension { get; }

    /// <summary>Vectors [items, <see cref="Dimension"/>] of items from their texts.</summary>
    float[] EmbedItems(IReadOnlyList<CatalogueItem> items);

    /// <summary>Vectors [users, <see cref="Dimension"/>].</summary>
    float[] EmbedUsers(IReadOnlyList<ScorerUser> users);

    /// <summary>Calibrated p(buy) of row i of <paramref name="users"/> with row i of <paramref name="items"/>.</summary>
    float[] ScorePairs(float[] users, float[] items);

    /// <summary>p(buy) of one user against item vectors, in managed code, what is per user computed once.</summary>
    UserHead HeadFor(float[] userVector);
}

internal abstract class UserHead
{
    public abstract float Probability(ReadOnlySpan<float> item);

    protected static float Sigmoid(double logit) => (float)(1 / (1 + Math.Exp(-logit)));
}

/// <summary>The two-tower model: users read as profile text, the margin head over (u, v, |u − v|, u ⊙ v).</summary>
internal sealed class TwoTowerServed(ScorerModel scorer, int maxLength) : IServedModel
{
    private readonly (float[] MarginWeights, float MarginBias, float Scale, float Offset) head = scorer.Model.ExportHead();

    public int Dimension => scorer.Model.HiddenSize;

    public float[] EmbedItems(IReadOnlyList<CatalogueItem> items) => ScorerInference.Embed(scorer, items.Select(i => i.Text).ToList(), maxLength);

    public float[] EmbedUsers(IReadOnlyList<ScorerUser> users) => ScorerInference.Embed(scorer, users.Select(u => u.Text).ToList(), maxLength);

    public float[] ScorePairs(float[] users, float[] items) => ScorerInference.BuyProbabilities(scorer, users, items);

    public UserHead HeadFor(float[] userVector) => new MarginHead(head, userVector);

    public void Dispose() => scorer.Dispose();

    private sealed class MarginHead : UserHead
    {
        private readonly (float[] MarginWeights, float MarginBias, float Scale, float Offset) head;
        private readonly float[] user;
        private readonly float[] itemWeights;
        private readonly float userPart;

        public MarginHead((float[] MarginWeights, float MarginBias, float Scale, float Offset) head, float[] user)
        {
            this.head = head;
            this.user = user;
            var hidden = user.Length;
            var w = head.MarginWeights.AsSpan();
            var wv = w.Slice(hidden, hidden);
            var wm = w.Slice(3 * hidden, hidden);
            // Per user once: the u part of the margin, and v's weights folded with u∘v's (wv + wm⊙u).
            userPart = head.MarginBias + VectorMath.Dot(w[..hidden], user);
            itemWeights = new float[hidden];
            for (var h = 0; h < hidden; h++) itemWeights[h] = wv[h] + wm[h] * user[h];
        }

        public override float Probability(ReadOnlySpan<float> item)
        {
            var hidden = user.Length;
            var margin = userPart + VectorMath.PairMargin(itemWeights, head.MarginWeights.AsSpan(2 * hidden, hidden), user, item);
            return Sigmoid(head.Scale * margin + head.Offset);
        }
    }
}

/// <summary>
/// The sequence scorer: a user is read from their recent items (their texts through the pretrained encoder, and the
/// items' own vectors where the towers learned one); a user with no known items yet is read from their text alone.
/// p(buy) is the Platt-calibrated similarity.
/// </summary>
internal sealed class SequenceServed : IServedModel
{
    private readonly SequenceScorer scorer;
    private readonly ScorerModel encoder;
    private readonly Dictionary<long, int> catalogueRow;
    private readonly Dictionary<long, long> trainedRow;
    private readonly (double Scale, double Bias) calibration;
    private readonly int maxLength;

    /// <param name="catalogueIds">The items the scorer's text vectors are of, in row order.</param>
    public SequenceServed(SequenceScorer scorer, ScorerModel encoder, IReadOnlyList<long> catalogueIds, IReadOnlyList<long> trainedItemIds, (double Scale, double Bias) calibration, int maxLength)
    {
        this.scorer = scorer;
        this.encoder = encoder;
        this.calibration = calibration;
        this.maxLength = maxLength;
        catalogueRow = catalogueIds.Select((id, row) => (id, row)).ToDictionary(p => p.id, p => p.row);
        trainedRow = trainedItemIds.Select((id, row) => (id, row)).ToDictionary(p => p.id, p => (long)p.row);
    }

    public int Dimension => scorer.Dimension;

    public float[] EmbedItems(IReadOnlyList<CatalogueItem> items)
    {
        var texts = ScorerInference.Embed(encoder, items.Select(i => i.Text).ToList(), maxLength);
        return scorer.ItemVectorsOfTexts(texts, items.Select(i => trainedRow.TryGetValue(i.Id, out var row) ? row : SequenceTowers.TextOnly).ToArray());
    }

    public float[] EmbedUsers(IReadOnlyList<ScorerUser> users)
    {
        // A user's texts are rows after the scorer's own: the history reads them as it read training users' texts.
        // Items added since the build have no text vector here yet; a history is read from the items the build knows.
        var texts = new List<string>();
        int[] TextRows(IEnumerable<string> written) => [.. written.Select(text => { texts.Add(text); return scorer.TextRows + texts.Count - 1; })];
        var histories = users.Select(user =>
        {
            var items = user.RecentItemIds.Select(id => catalogueRow.TryGetValue(id, out var row) ? row : -1).Where(row => row >= 0);
            var written = (user.RecentTexts ?? []).Take(ScorerHistory.MaxTexts).Reverse().ToList();
            var history = SequenceScorer.History(TextRows(written), items.Take(ScorerHistory.MaxItems).Reverse());
            return history.Length > 0 || user.Text.Length == 0 ? history : TextRows([user.Text]);
        }).ToArray();
        var vectors = texts.Count == 0 ? null : ScorerInference.Embed(encoder, texts, maxLength);
        return scorer.UserVectors(histories, vectors);
    }

    public float[] ScorePairs(float[] users, float[] items)
    {
        var dimension = Dimension;
        var result = new float[users.Length / dimension];
        for (var i = 0; i < result.Length; i++)
            result[i] = Probability(VectorMath.Dot(users.AsSpan(i * dimension, dimension), items.AsSpan(i * dimension, dimension)));
        return result;
    }

    public UserHead HeadFor(float[] userVector) => new SimilarityHead(this, userVector);

    private float Probability(float similarity) => SimilarityHead.Calibrated(calibration, similarity);

    public void Dispose()
    {
        scorer.Dispose();
        encoder.Dispose();
    }

    private sealed class SimilarityHead(SequenceServed served, float[] user) : UserHead
    {
        public static float Calibrated((double Scale, double Bias) calibration, float similarity) => Sigmoid(calibration.Scale * similarity + calibration.Bias);

        public override float Probability(ReadOnlySpan<float> item) => Calibrated(served.calibration, VectorMath.Dot(user, item));
    }
}

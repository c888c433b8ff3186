using Discounts.Training.Scorer;

namespace Discounts.Training.FineTuning;

/// <summary>Validation figures of one scorer. HR@10 and NDCG@10 rank each held-out purchase against the whole catalogue.</summary>
public sealed record ScorerMetrics(double Auc, double LogLoss, double HitRate10, double Ndcg10, int Examples, int RankingUsers);

public static class ScorerEvaluation
{
    private const int CutOff = 10;

    /// <param name="margins">When given, receives each validation pair's uncalibrated margin and label, for calibration.</param>
    public static ScorerMetrics Evaluate(ScorerModel scorer, TrainingDataset data, int maxLength, List<(float Margin, bool Bought)>? margins = null)
    {
        var hidden = scorer.Model.HiddenSize;
        var itemRow = data.Items.Select((item, row) => (item.Id, row)).ToDictionary(p => p.Id, p => p.row);
        var itemVectors = ScorerInference.Embed(scorer, data.Items.Select(i => i.Text).ToList(), maxLength);
        var users = data.Validation.Select(e => e.UserId).Concat(data.HeldOutPurchases.Select(h => h.UserId)).Distinct().ToList();
        var userRow = users.Select((id, row) => (id, row)).ToDictionary(p => p.id, p => p.row);
        var userVectors = ScorerInference.Embed(scorer, users.Select(id => data.UserTexts.GetValueOrDefault(id, "new shopper")).ToList(), maxLength);

        var pairUsers = Gather(userVectors, data.Validation.Select(e => userRow[e.UserId]), hidden);
        var pairItems = Gather(itemVectors, data.Validation.Select(e => itemRow[e.ItemId]), hidden);
        var probabilities = data.Validation.Count == 0 ? [] : ScorerInference.BuyProbabilities(scorer, pairUsers, pairItems);
        var labels = data.Validation.Select(e => e.Bought).ToArray();
        if (margins is not null && labels.Length > 0)
            margins.AddRange(ScorerInference.BuyMargins(scorer, pairUsers, pairItems).Zip(labels));

        double hits = 0, ndcg = 0;
        foreach (var (userId, itemId) in data.HeldOutPurchases)
        {
            var repeated = Gather(userVectors, Enumerable.Repeat(userRow[userId], data.Items.Count), hidden);
            var scores = ScorerInference.BuyProbabilities(scorer, repeated, itemVectors);
            var rank = RankOf(scores, itemRow[itemId]);
            if (rank < CutOff)
            {
                hits++;
                ndcg += 1.0 / Math.Log2(rank + 2);
            }
        }
        var rankingUsers = data.HeldOutPurchases.Count;
        return new ScorerMetrics(
            Auc(probabilities, labels),
            LogLoss(probabilities, labels),
            rankingUsers == 0 ? 0 : hits / rankingUsers,
            rankingUsers == 0 ? 0 : ndcg / rankingUsers,
            labels.Length,
            rankingUsers);
    }

    /// <summary>
    /// Platt scaling: the (scale, bias) minimising log loss of sigmoid(scale × margin + bias), by Newton's method on the
    /// two parameters. Identity (1, 0) when one class is missing, or when the fit would reverse the order of the scores,
    /// which would turn the scorer's ranking upside down.
    /// </summary>
    public static (double Scale, double Bias) FitPlatt(IReadOnlyList<(float Margin, bool Bought)> pairs)
    {
        if (!pairs.Any(p => p.Bought) || pairs.All(p => p.Bought)) return (1, 0);
        double a = 1, b = 0;
        for (var iteration = 0; iteration < 50; iteration++)
        {
            double ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
            foreach (var (margin, bought) in pairs)
            {
                var p = 1 / (1 + Math.Exp(-((a * margin) + b)));
                var residual = p - (bought ? 1 : 0);
                var weight = p * (1 - p);
                ga += residual * margin;
                gb += residual;
                haa += weight * margin * margin;
                hab += weight * margin;
                hbb += weight;
            }
            var determinant = (haa * hbb) - (hab * hab);
            if (Math.Abs(determinant) < 1e-12) break;
            var da = ((hbb * ga) - (hab * gb)) / determinant;
            var db = ((haa * gb) - (hab * ga)) / determinant;
            a -= da;
            b -= db;
            if (Math.Abs(da) + Math.Abs(db) < 1e-9) break;
        }
        return a > 0 && double.IsFinite(a) && double.IsFinite(b) ? (a, b) : (1, 0);
    }

    public static double PlattLogLoss(IReadOnlyList<(float Margin, bool Bought)> pairs, double scale, double bias) =>
        LogLoss(pairs.Select(p => (float)(1 / (1 + Math.Exp(-((scale * p.Margin) + bias))))).ToList(), pairs.Select(p => p.Bought).ToList());

    /// <summary>0-based rank of one item: how many items score strictly higher, plus half the ties, so ties earn no credit.</summary>
    public static int RankOf(IReadOnlyList<float> scores, int target)
    {
        var mine = scores[target];
        int higher = 0, ties = 0;
        for (var i = 0; i < scores.Count; i++)
        {
            if (i == target) continue;
            if (scores[i] > mine) higher++;
            else if (scores[i] == mine) ties++;
        }
        return higher + ((ties + 1) / 2);
    }

    /// <summary>Area under the ROC curve (Mann–Whitney, ties counted half); 0.5 when one class is missing.</summary>
    public static double Auc(IReadOnlyList<float> scores, IReadOnlyList<bool> labels)
    {
        var positives = labels.Count(l => l);
        var negatives = labels.Count - positives;
        if (positives == 0 || negatives == 0) return 0.5;
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        double rankSum = 0;
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]]) end++;
            var averageRank = ((start + end) / 2.0) + 1;
            for (var k = start; k <= end; k++)
                if (labels[order[k]]) rankSum += averageRank;
            start = end + 1;
        }
        return (rankSum - (positives * (positives + 1) / 2.0)) / ((double)positives * negatives);
    }

    public static double LogLoss(IReadOnlyList<float> probabilities, IReadOnlyList<bool> labels)
    {
        if (labels.Count == 0) return 0;
        const double Epsilon = 1e-7;
        double total = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            var p = Math.Clamp(probabilities[i], Epsilon, 1 - Epsilon);
            total -= labels[i] ? Math.Log(p) : Math.Log(1 - p);
        }
        return total / labels.Count;
    }

    private static float[] Gather(float[] matrix, IEnumerable<int> rows, int hidden)
    {
        var picked = rows.ToList();
        var result = new float[picked.Count * hidden];
        for (var i = 0; i < picked.Count; i++)
            matrix.AsSpan(picked[i] * hidden, hidden).CopyTo(result.AsSpan(i * hidden, hidden));
        return result;
    }
}

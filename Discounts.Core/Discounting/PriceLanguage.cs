using System.Collections.Concurrent;
using Discounts.Core.Domain;
using Discounts.Core.Numerics;

namespace Discounts.Core.Discounting;

/// <summary>
/// What a user's words say about their price sensitivity, read through the scorer's user tower and learned from the
/// training log, with no word list written by hand:
/// <list type="number">
/// <item>each search and chat is embedded, and the centre of the texts about the same thing (spherical k-means in the
/// encoder's space) is taken away, so what is left is how the user asks, not what for (cheap, on sale, best, under 50);</item>
/// <item>the leading direction along which users' mean residuals differ (principal components over the training
/// users) is a trait of the person: on the generated shops it is the deal-hunting that price-sensitive users write;</item>
/// <item>a user's reading is their mean residual on that direction, pulled towards the population's by n / (n + κ),
/// κ the ratio of within-user to between-user variance, so an offer made after one search reads on the same scale as a
/// quote after six;</item>
/// <item>its sign and size are fitted on the randomised offers by the multiplicative lift model
/// (<see cref="MultiplicativeLift"/>), each offer reading only the texts written before it.</item>
/// </list>
/// The direction was found on tuning shops 101–105 and then reported once on the nine documented shops (BENCHMARKS).
/// </summary>
public sealed class PriceLanguage
{
    private const int Clusters = 40;

    /// <summary>
    /// The encoder's vectors for the texts, or null when it is no longer the encoder the direction was learned in (a
    /// fine-tuned scorer was swapped in): readings are then the population's until the uplift model is retrained.
    /// </summary>
    public delegate IReadOnlyList<float[]>? Embedder(IReadOnlyList<string> texts);

    private readonly Embedder? embed;
    /// <summary>Each text's position along the direction, the one number a reading needs of it.</summary>
    private readonly ConcurrentDictionary<string, double> positions = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<double[]> centroids;
    private readonly PrincipalComponents? direction;
    private readonly double populationMean;
    private readonly double betweenUserSd;
    private readonly double kappa;
    private readonly double weight;

    private PriceLanguage(Embedder? embed, IReadOnlyList<double[]> centroids, PrincipalComponents? direction, double populationMean, double betweenUserSd, double kappa, double weight, IReadOnlyList<string> words)
    {
        this.embed = embed;
        this.centroids = centroids;
        this.direction = direction;
        this.populationMean = populationMean;
        this.betweenUserSd = betweenUserSd;
        this.kappa = kappa;
        this.weight = weight;
        Words = words;
    }

    /// <summary>No language model: every user reads 0.</summary>
    public static PriceLanguage None { get; } = new(null, [], null, 0, 0, 0, 0, []);

    /// <summary>The words whose texts the learned direction reads highest (used in 20 or more texts): what it has learned to hear.</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>
    /// The user's reading from their searches and chats written strictly before <paramref name="before"/>, signed so
    /// that more means a larger response to a discount (per percent of relative lift, as the lift model fitted it).
    /// </summary>
    public double ScoreBefore(IReadOnlyList<PastText> texts, DateTime before) => weight * (Reading(Asked(texts, before)) - populationMean);

    /// <summary>
    /// Whether the user's words read as deal-seeking: their reading at least one between-user standard deviation
    /// towards a larger response. Drives the "often looks for deals" reason; never about who the user is.
    /// </summary>
    public bool SeeksDeals(IReadOnlyList<PastText> texts, DateTime before) =>
        weight != 0 && betweenUserSd > 0 && ScoreBefore(texts, before) >= Math.Abs(weight) * betweenUserSd;

    private static List<string> Asked(IReadOnlyList<PastText> texts, DateTime before) =>
        texts.Where(t => t.OccurredAt < before && t.Kind != TextKind.Review).Select(t => t.Text).ToList();

    private double Reading(IReadOnlyList<string> texts)
    {
        if (direction is null || texts.Count == 0 || !Prepare(texts))
        {
            return populationMean;
        }

        return ShrunkMean(texts.Select(text => positions[text]).ToList(), populationMean, kappa);
    }

    /// <summary>Embeds and places every text not yet seen, in one batch; false if the encoder has changed.</summary>
    private bool Prepare(IEnumerable<string> texts)
    {
        var missing = texts.Where(t => !positions.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToList();
        if (missing.Count == 0)
        {
            return true;
        }

        if (embed?.Invoke(missing) is not { } vectors)
        {
            return false;
        }

        for (var i = 0; i < missing.Count; i++)
        {
            positions[missing[i]] = direction!.Project(Residual(Array.ConvertAll(vectors[i], v => (double)v), centroids))[0];
        }

        return true;
    }

    /// <summary>One randomised offer as the direction learns from it: whose, when, which arm, and whether it sold.</summary>
    public sealed record Offer(long UserId, DateTime At, int Arm, bool Bought);

    /// <param name="offers">The training offers only: the direction is part of the model.</param>
    public static PriceLanguage Learn(IReadOnlyList<Offer> offers, IReadOnlyDictionary<long, IReadOnlyList<PastText>> textsByUser, IReadOnlyList<double> doses, Embedder embed)
    {
        var asked = offers.Select(o => o.UserId).Distinct().ToDictionary(
            user => user,
            user => (textsByUser.GetValueOrDefault(user) ?? []).Where(t => t.Kind != TextKind.Review).OrderBy(t => t.OccurredAt).ToList());
        var distinct = asked.Values.SelectMany(t => t).Select(t => t.Text).Distinct(StringComparer.Ordinal).ToList();
        if (distinct.Count < Clusters || embed(distinct) is not { } vectors)
        {
            return None;
        }

        var embedded = vectors.Select(v => Array.ConvertAll(v, x => (double)x)).ToList();
        var centroids = SphericalKMeans(embedded, Clusters, seed: 17);
        var residual = new Dictionary<string, double[]>(StringComparer.Ordinal);
        for (var i = 0; i < distinct.Count; i++)
        {
            residual[distinct[i]] = Residual(embedded[i], centroids);
        }

        var users = asked.Values.Where(t => t.Count >= 2).ToList();
        if (users.Count < 10)
        {
            return None;
        }

        var direction = PrincipalComponents.Leading(users.Select(t => Mean(t.Select(x => residual[x.Text]).ToList())).ToList(), count: 1, seed: 17);
        // Empirical Bayes: how much of the spread of users' mean readings is the users and how much the few texts behind each.
        var position = residual.ToDictionary(p => p.Key, p => direction.Project(p.Value)[0], StringComparer.Ordinal);
        var perUser = users.Select(t => t.Select(x => position[x.Text]).ToList()).ToList();
        var populationMean = perUser.SelectMany(u => u).Average();
        var within = perUser.Average(u => Variance(u));
        var userMeans = perUser.Select(u => u.Average()).ToList();
        var between = Math.Max(1e-9, Variance(userMeans) - within / perUser.Average(u => (double)u.Count));
        var kappa = within / between;

        var rows = offers.Select(o => new UpliftRow(
            [(float)(ShrunkMean(asked[o.UserId].Where(t => t.OccurredAt < o.At).Select(t => position[t.Text]).ToList(), populationMean, kappa) - populationMean)],
            o.Arm, o.Bought)).ToList();
        var lift = MultiplicativeLift.Train(rows, doses, [0], penalty: 1e-3);
        var weight = lift.Weights[0];

        // The words users wrote, ranked by how the direction reads the texts that use them.
        var words = distinct
            .SelectMany(text => Profiling.Tokenizer.Tokenize(text).Distinct().Select(word => (Word: word, Score: weight * (position[text] - populationMean))))
            .GroupBy(p => p.Word, StringComparer.Ordinal)
            .Where(g => g.Count() >= 20)
            .Select(g => (Word: g.Key, Score: g.Average(p => p.Score)))
            .Where(w => w.Score > 0)
            .OrderByDescending(w => w.Score).ThenBy(w => w.Word, StringComparer.Ordinal)
            .Take(8)
            .Select(w => w.Word)
            .ToList();
        var language = new PriceLanguage(embed, centroids, direction, populationMean, Math.Sqrt(between), kappa, weight, words);
        foreach (var (text, value) in position)
        {
            language.positions[text] = value;
        }

        return language;
    }

    /// <summary>The mean of a user's text positions pulled towards the population's by n / (n + κ); the population's for none.</summary>
    private static double ShrunkMean(IReadOnlyList<double> values, double populationMean, double kappa) =>
        values.Count == 0 ? populationMean : populationMean + values.Count / (values.Count + kappa) * (values.Average() - populationMean);

    private static double[] Residual(double[] vector, IReadOnlyList<double[]> centres)
    {
        var nearest = centres.MaxBy(c => Dot(c, vector))!;
        var result = new double[vector.Length];
        for (var j = 0; j < result.Length; j++)
        {
            result[j] = vector[j] - nearest[j];
        }

        return result;
    }

    private static double[] Mean(IReadOnlyList<double[]> vectors)
    {
        var mean = new double[vectors[0].Length];
        foreach (var vector in vectors)
        {
            for (var j = 0; j < mean.Length; j++)
            {
                mean[j] += vector[j] / vectors.Count;
            }
        }

        return mean;
    }

    private static double Variance(IReadOnlyList<double> values)
    {
        var mean = values.Average();
        return values.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, values.Count - 1);
    }

    private static double Dot(double[] a, double[] b)
    {
        var sum = 0.0;
        for (var j = 0; j < a.Length; j++)
        {
            sum += a[j] * b[j];
        }

        return sum;
    }

    /// <summary>k-means on the unit sphere (cosine), seeded: unit-length centres, a fixed number of rounds.</summary>
    private static List<double[]> SphericalKMeans(IReadOnlyList<double[]> vectors, int k, int seed, int rounds = 15)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, k).Select(_ => (double[])vectors[random.Next(vectors.Count)].Clone()).ToList();
        for (var round = 0; round < rounds; round++)
        {
            var sums = centres.Select(c => new double[c.Length]).ToList();
            foreach (var vector in vectors)
            {
                var best = 0;
                var bestDot = double.NegativeInfinity;
                for (var c = 0; c < centres.Count; c++)
                {
                    var dot = Dot(centres[c], vector);
                    if (dot > bestDot)
                    {
                        (best, bestDot) = (c, dot);
                    }
                }

                for (var j = 0; j < vector.Length; j++)
                {
                    sums[best][j] += vector[j];
                }
            }

            for (var c = 0; c < centres.Count; c++)
            {
                var norm = Math.Sqrt(sums[c].Sum(x => x * x));
                if (norm > 0)
                {
                    centres[c] = sums[c].Select(x => x / norm).ToArray();
                }
            }
        }

        return centres;
    }
}

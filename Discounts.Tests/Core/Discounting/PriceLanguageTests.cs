using Discounts.Core.Discounting;
using Discounts.Core.Domain;

namespace Discounts.Tests.Core.Discounting;

/// <summary>
/// The price language on a small generated log: users who hunt for deals say so in some of their searches, and buy
/// more under a discount. The encoder is a stand-in with the property the real one has (texts that share words sit
/// close together): one direction per noun, one per modifier, one per deal word. Users here shop for anything, which
/// is the method's assumption: when what a user shops for is a stronger trait of theirs than how they ask, and the
/// clusters do not absorb it, the leading direction is that taste instead (with each user keeping to two favourite
/// nouns out of 60, this log's first test fails; see docs/BENCHMARKS.md).
/// </summary>
public sealed class PriceLanguageTests
{
    private static readonly DateTime Start = new(2026, 6, 1, 0, 0, 0, DateTimeKind.Utc);
    /// <summary>Fewer things to shop for than the 40 clusters, so each topic has a centre of its own.</summary>
    private static readonly string[] Nouns = Enumerable.Range(0, 30).Select(i => $"thing{(char)('a' + i / 26)}{(char)('a' + i % 26)}").ToArray();
    private static readonly string[] Modifiers = ["blue", "large", "small", "best", "quiet", "light", "steel", "cotton"];
    private static readonly string[] DealWords = ["cheap", "sale", "discount", "deal"];
    private static readonly string[] Vocabulary = [.. Nouns, .. Modifiers, .. DealWords, "on", "under", "for"];
    private static readonly Lazy<(PriceLanguage Language, Dictionary<long, List<PastText>> Texts, Dictionary<long, double> Sensitivity)> Learned = new(Learn);

    [Test]
    public void Learn_WhenDealHuntersWriteDealWords_HearsThoseWordsWithoutBeingToldThem()
    {
        var (language, texts, sensitivity) = Learned.Value;
        var end = Start.AddDays(400);
        var readings = texts.Keys.Select(user => (Reading: language.ScoreBefore(texts[user], end), Truth: sensitivity[user])).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(Correlation(readings.Select(r => r.Reading).ToArray(), readings.Select(r => r.Truth).ToArray()), Is.GreaterThan(0.4));
            Assert.That(language.Words.Take(4), Has.Some.AnyOf(DealWords), string.Join(", ", language.Words));
        });
    }

    [Test]
    public void ScoreBefore_WhenADealSearchIsWrittenAfterTheMoment_IsUnchanged()
    {
        var (language, _, _) = Learned.Value;
        var at = Start.AddDays(100);
        PastText[] earlier = [new($"blue {Nouns[0]}", at.AddDays(-5), TextKind.Search), new($"large {Nouns[1]}", at.AddDays(-2), TextKind.Search)];
        var later = new PastText($"cheap {Nouns[2]} on sale", at.AddHours(1), TextKind.Search);

        var without = language.ScoreBefore(earlier, at);
        var with = language.ScoreBefore([.. earlier, later], at);
        var whenEarlier = language.ScoreBefore([.. earlier, later with { OccurredAt = at.AddHours(-1) }], at);

        Assert.Multiple(() =>
        {
            Assert.That(with, Is.EqualTo(without), "a text written after the moment reached the reading");
            Assert.That(whenEarlier, Is.Not.EqualTo(without), "the control: the same text written before moves it");
        });
    }

    [Test]
    public void Features_WhenADealSearchIsWrittenAfterTheOffer_RowIsUnchanged()
    {
        var (language, _, _) = Learned.Value;
        var matcher = new TextMatcher(null, []) { Language = language };
        var offer = new UpliftTraining.LoggedOffer(1, 7, 3, "Home", 5_000, 2_000, 10, Start.AddDays(50), Bought: true);
        PastText[] earlier = [new($"small {Nouns[3]}", offer.At.AddDays(-1), TextKind.Search)];
        var later = new PastText($"cheap deal on {Nouns[3]}", offer.At.AddMinutes(5), TextKind.Search);

        var without = UpliftTraining.Features(offer, new UserHistory([], earlier), offer.At.AddDays(30), matcher);
        var with = UpliftTraining.Features(offer, new UserHistory([], [.. earlier, later]), offer.At.AddDays(30), matcher);

        Assert.That(with, Is.EqualTo(without));
    }

    [Test]
    public void SeeksDeals_WhenUserWritesOnlyDealSearches_IsTrueAndForPlainSearchesFalse()
    {
        var (language, _, _) = Learned.Value;
        var at = Start.AddDays(400);
        var hunter = Enumerable.Range(0, 6).Select(i => new PastText($"cheap {Nouns[i]} on sale", at.AddDays(-i - 1), TextKind.Search)).ToList();
        var plain = Enumerable.Range(0, 6).Select(i => new PastText($"{Modifiers[i]} {Nouns[i]}", at.AddDays(-i - 1), TextKind.Search)).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(language.SeeksDeals(hunter, at), Is.True);
            Assert.That(language.SeeksDeals(plain, at), Is.False);
        });
    }

    private static (PriceLanguage, Dictionary<long, List<PastText>>, Dictionary<long, double>) Learn()
    {
        var random = new Random(11);
        var texts = new Dictionary<long, List<PastText>>();
        var sensitivity = new Dictionary<long, double>();
        var offers = new List<PriceLanguage.Offer>();
        double[] doses = [0, 5, 10, 15, 20];
        for (long user = 1; user <= 1_500; user++)
        {
            var s = random.NextDouble();
            sensitivity[user] = s;
            texts[user] = Enumerable.Range(0, random.Next(3, 9)).Select(_ =>
            {
                var noun = Nouns[random.Next(Nouns.Length)];
                var text = $"{Modifiers[random.Next(Modifiers.Length)]} {noun}";
                if (random.NextDouble() < 0.7 * s)
                {
                    text = random.Next(3) switch { 0 => $"cheap {text}", 1 => $"{text} on sale", _ => $"{text} discount deal" };
                }

                return new PastText(text, Start.AddDays(random.NextDouble() * 365), TextKind.Search);
            }).ToList();
            for (var i = 0; i < 8; i++)
            {
                var arm = random.Next(doses.Length);
                var p = 0.12 * (1 + 0.08 * s * doses[arm]);
                offers.Add(new PriceLanguage.Offer(user, Start.AddDays(random.NextDouble() * 365), arm, random.NextDouble() < p));
            }
        }

        var language = PriceLanguage.Learn(offers, texts.ToDictionary(p => p.Key, p => (IReadOnlyList<PastText>)p.Value), doses, Embed);
        return (language, texts, sensitivity);
    }

    /// <summary>Bag of words over the small vocabulary, with a little fixed noise per text, at unit length.</summary>
    private static IReadOnlyList<float[]> Embed(IReadOnlyList<string> batch) => batch.Select(text =>
    {
        var noise = new Random(text.Aggregate(17, (hash, c) => unchecked(hash * 31 + c)) & 0x7fffffff);
        var vector = Vocabulary.Select(word => text.Split(' ').Contains(word) ? 1f : 0f).Select(v => v + (float)(noise.NextDouble() * 0.05)).ToArray();
        var norm = MathF.Sqrt(vector.Sum(v => v * v));
        return vector.Select(v => v / norm).ToArray();
    }).ToList();

    private static double Correlation(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }

        return sxy / Math.Sqrt(sxx * syy);
    }
}

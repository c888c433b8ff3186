using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Discounts.Core.Recommending;

namespace Discounts.Tests.Core.Recommending;

public sealed class RecommendingTests
{
    private static readonly DateTime Now = new(2026, 11, 28, 12, 0, 0, DateTimeKind.Utc);

    private static readonly RecommendationOptions Options = new() { CandidatesPerSource = 20, ConsumableCategories = ["Coffee"] };

    /// <summary>
    /// Six items: two tents and a headlamp (Outdoor, not consumable), two coffees (consumable), a new book. Users 1–3
    /// bought tent A then headlamp; user 4 bought coffee twice.
    /// </summary>
    private static CatalogueIndex Shop()
    {
        CatalogueRow[] items =
        [
            new(10, "tent-a", "Ultralight Hiking Tent", "", "Outdoor", "Trailco", Now.AddDays(-400)),
            new(11, "tent-b", "Family Camping Tent", "", "Outdoor", "Trailco", Now.AddDays(-400)),
            new(12, "lamp", "Headlamp", "", "Outdoor", "Trailco", Now.AddDays(-300)),
            new(13, "coffee-a", "Arabica Espresso Beans", "", "Coffee", "Roastery", Now.AddDays(-200)),
            new(14, "coffee-b", "Decaf Ground Coffee", "", "Coffee", "Roastery", Now.AddDays(-200)),
            new(15, "book", "Mystery Novel", "", "Books", "Press", Now.AddDays(-2)),
        ];
        var events = new List<ActivityRow>();
        for (var user = 1; user <= 3; user++)
        {
            events.Add(new ActivityRow(user, 10, EventKind.Purchase, Now.AddDays(-20 + user)));
            events.Add(new ActivityRow(user, 12, EventKind.Purchase, Now.AddDays(-19 + user)));
        }

        events.Add(new ActivityRow(4, 13, EventKind.Purchase, Now.AddDays(-3)));
        events.Add(new ActivityRow(4, 13, EventKind.Purchase, Now.AddDays(-2)));
        return CatalogueIndex.Build(items, events, Now, Options);
    }

    private static int Row(CatalogueIndex index, long id) => index.RowOf(id)!.Value;

    [Test]
    public void Generate_WhenUserBoughtTent_ProposesItsCoOccurringHeadlampWithReasonNamingTheTent()
    {
        var index = Shop();
        var user = new UserSignals([Row(index, 11)], new HashSet<int>(), [], null);
        var index10 = Row(index, 10);
        var history = new UserSignals([index10], new HashSet<int>(), [], null);

        var candidates = CandidateGenerator.Generate(index, history, null, Options.CandidatesPerSource);
        var lamp = candidates.Single(c => c.Item == Row(index, 12));
        var reason = index.Catalogue.Reasons.Describe(lamp, RecommendationFeatures.CoOccurrenceIndex);

        Assert.Multiple(() =>
        {
            Assert.That(lamp.Features[RecommendationFeatures.CoOccurrenceIndex], Is.EqualTo(1f));
            Assert.That(lamp.Sources, Does.Contain(RecommendationFeatures.CoOccurrence));
            Assert.That(reason, Is.EqualTo("often bought with 'Ultralight Hiking Tent'"));
            Assert.That(CandidateGenerator.Generate(index, user, null, 20).Where(c => c.Features[RecommendationFeatures.CoOccurrenceIndex] > 0), Is.Empty);
        });
    }

    [Test]
    public void Describe_WhenTheSameReasonIsAskedAgain_ReturnsTheOneSharedSentence()
    {
        var index = Shop();
        var user = new UserSignals([Row(index, 10)], new HashSet<int>(), [new WeightedTerm("espresso", 0.8)], null);
        var candidates = CandidateGenerator.Generate(index, user, null, 20);
        var lamp = candidates.Single(c => c.Item == Row(index, 12));
        var coffee = candidates.OrderByDescending(c => c.Features[RecommendationFeatures.ContentIndex]).First();
        var category = index.Categories[index.CategoryOf[lamp.Item]];
        var reasons = index.Catalogue.Reasons;
        (Candidate Candidate, int Source, string Expected)[] cases =
        [
            (lamp, RecommendationFeatures.CoOccurrenceIndex, "often bought with 'Ultralight Hiking Tent'"),
            (coffee, RecommendationFeatures.ContentIndex, "matches your interest in 'espresso'"),
            (lamp, RecommendationFeatures.EmbeddingIndex, $"close to what your profile says you like in {category}"),
            (lamp, RecommendationFeatures.PopularIndex, $"a best seller in {category}"),
            (lamp, RecommendationFeatures.TrendingIndex, $"popular in {category} this week"),
            (lamp, RecommendationFeatures.NewIndex, $"new in {category}"),
            (lamp, RecommendationFeatures.ScorerIndex, $"picked for you in {category}"),
        ];

        Assert.Multiple(() =>
        {
            foreach (var (candidate, source, expected) in cases)
            {
                var first = reasons.Describe(candidate, source);
                Assert.That(first, Is.EqualTo(expected));
                Assert.That(reasons.Describe(candidate, source), Is.SameAs(first), $"source {source} builds its sentence once");
            }
        });
    }

    [Test]
    public void Generate_WhenItemsWereBought_DropsNonConsumablesAndKeepsConsumables()
    {
        var index = Shop();
        var bought = new HashSet<int> { Row(index, 10), Row(index, 13) };
        var user = new UserSignals([Row(index, 10), Row(index, 13)], bought, [], null);

        var items = CandidateGenerator.Generate(index, user, null, 20).Select(c => index.Items[c.Item].Id).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(items, Does.Not.Contain(10L), "a bought tent is not proposed again");
            Assert.That(items, Does.Contain(13L), "bought coffee is consumable and may be proposed again");
        });
    }

    [Test]
    public void Generate_WhenUserHasOnlyText_ProposesItemsWhoseTextMatchesAndNamesTheTerm()
    {
        var index = Shop();
        var user = new UserSignals([], new HashSet<int>(), [new WeightedTerm("espresso", 0.8), new WeightedTerm("decaf", 0.3)], null);

        var candidates = CandidateGenerator.Generate(index, user, null, 20);
        var best = candidates.OrderByDescending(c => c.Features[RecommendationFeatures.ContentIndex]).First();

        Assert.Multiple(() =>
        {
            Assert.That(index.Items[best.Item].ExternalId, Is.EqualTo("coffee-a"));
            Assert.That(best.Features[RecommendationFeatures.ContentIndex], Is.EqualTo(1f));
            Assert.That(index.Catalogue.Reasons.Describe(best, RecommendationFeatures.ContentIndex), Is.EqualTo("matches your interest in 'espresso'"));
            Assert.That(candidates.Where(c => c.Features[RecommendationFeatures.ContentIndex] > 0).Select(c => index.Categories[index.CategoryOf[c.Item]]),
                Has.All.EqualTo("Coffee"));
        });
    }

    [Test]
    public void Generate_WhenUserHasNothing_ProposesOnlyPopularTrendingAndNewItems()
    {
        var index = Shop();

        var candidates = CandidateGenerator.Generate(index, UserSignals.Nothing, null, 20);

        Assert.Multiple(() =>
        {
            Assert.That(candidates, Is.Not.Empty);
            Assert.That(candidates.SelectMany(c => c.Sources).Distinct(),
                Is.SubsetOf(new[] { RecommendationFeatures.Popular, RecommendationFeatures.Trending, RecommendationFeatures.New }));
            Assert.That(candidates.Single(c => index.Items[c.Item].ExternalId == "book").Features[RecommendationFeatures.NewIndex], Is.GreaterThan(0.9f));
            Assert.That(index.Items[index.PopularList[0]].ExternalId, Is.EqualTo("coffee-a").Or.EqualTo("tent-a").Or.EqualTo("lamp"));
        });
    }

    [Test]
    public void Generate_WhenUserVectorGiven_RanksNearestItemFirstOnTheEmbeddingFeature()
    {
        var index = Shop();
        var vectors = new float[index.Count * 2];
        for (var row = 0; row < index.Count; row++)
        {
            vectors[row * 2] = row == Row(index, 15) ? 1f : 0.1f;
            vectors[row * 2 + 1] = row == Row(index, 15) ? 0f : 0.99f;
        }

        var matrix = new ItemMatrix(new Discounts.Core.Scoring.ScorerVersion(null, "test", ""), vectors, Enumerable.Repeat(true, index.Count).ToArray(), 2);
        var user = new UserSignals([], new HashSet<int>(), [], [1f, 0f]);

        var candidates = CandidateGenerator.Generate(index, user, matrix, 3);
        var best = candidates.OrderByDescending(c => c.Features[RecommendationFeatures.EmbeddingIndex]).First();

        Assert.That(index.Items[best.Item].ExternalId, Is.EqualTo("book"));
    }

    [Test]
    public void FromProfile_WhenTheMatrixSearchIsReplaced_ProposesWhatTheReplacementFinds()
    {
        // The serving path swaps the exact scan for a clustered index built in the background; the nearest-items source
        // must read whichever search the matrix holds at the time.
        var index = Shop();
        static float[] Pointing(CatalogueIndex index, int nearestRow)
        {
            var vectors = new float[index.Count * 2];
            for (var row = 0; row < index.Count; row++)
            {
                vectors[row * 2] = row == nearestRow ? 1f : 0.1f;
                vectors[row * 2 + 1] = row == nearestRow ? 0f : 0.99f;
            }

            return vectors;
        }

        var known = Enumerable.Repeat(true, index.Count).ToArray();
        var matrix = new ItemMatrix(new Discounts.Core.Scoring.ScorerVersion(null, "test", ""), Pointing(index, Row(index, 15)), known, 2);
        float[] vector = [1f, 0f];

        var before = CandidateGenerator.FromProfile(index, [], vector, matrix, 1).Nearest.Single().Item;
        matrix.UseSearch(NearestItemSearch.Exact(Pointing(index, Row(index, 10)), known, 2));
        var after = CandidateGenerator.FromProfile(index, [], vector, matrix, 1).Nearest.Single().Item;

        Assert.Multiple(() =>
        {
            Assert.That(before, Is.EqualTo(Row(index, 15)));
            Assert.That(after, Is.EqualTo(Row(index, 10)));
        });
    }

    [Test]
    public void Generate_WhenCalledForAnotherUserInBetween_GivesTheFirstUserTheSameCandidatesAgain()
    {
        var index = Shop();
        var tentBuyer = new UserSignals([Row(index, 10)], new HashSet<int>(), [new WeightedTerm("espresso", 0.8)], null);
        var coffeeBuyer = new UserSignals([Row(index, 13), Row(index, 12)], new HashSet<int>(), [new WeightedTerm("decaf", 0.5)], null);
        static List<string> Described(List<Candidate> candidates) =>
            candidates.Select(c => $"{c.Item}:{string.Join(",", c.Features)}:{c.Anchor}:{c.Term}").ToList();

        var first = Described(CandidateGenerator.Generate(index, tentBuyer, null, 20));
        var other = CandidateGenerator.Generate(index, coffeeBuyer, null, 20);
        var again = Described(CandidateGenerator.Generate(index, tentBuyer, null, 20));

        Assert.Multiple(() =>
        {
            Assert.That(again, Is.EqualTo(first), "no score, anchor or term of the user in between leaks into the next generation");
            Assert.That(other.Single(c => c.Item == Row(index, 10)).Anchor, Is.EqualTo(Row(index, 12)), "the tent is proposed for the headlamp");
            Assert.That(other.Where(c => c.Term is not null).Select(c => c.Term), Has.All.EqualTo("decaf"));
        });
    }

    [Test]
    public void Generate_FromProfileCandidatesComputedBeforehand_EqualsGeneratingFromTheSignals()
    {
        var index = Shop();
        var vectors = Enumerable.Range(0, index.Count * 2).Select(i => (float)Math.Sin(i)).ToArray();
        var matrix = new ItemMatrix(new Discounts.Core.Scoring.ScorerVersion(null, "test", ""), vectors, Enumerable.Repeat(true, index.Count).ToArray(), 2);
        var user = new UserSignals([Row(index, 10), Row(index, 14)], new HashSet<int> { Row(index, 10) }, [new WeightedTerm("coffee", 0.4)], [0.6f, 0.8f]);
        static List<string> Described(List<Candidate> candidates) =>
            candidates.Select(c => $"{c.Item}:{string.Join(",", c.Features)}:{c.Anchor}:{c.Term}").ToList();

        var profile = CandidateGenerator.FromProfile(index, user.Interests, user.Vector, matrix, 20);
        var inTwoSteps = CandidateGenerator.Generate(index, user.History, user.Bought, profile, 20);

        Assert.Multiple(() =>
        {
            Assert.That(Described(inTwoSteps), Is.EqualTo(Described(CandidateGenerator.Generate(index, user, matrix, 20))));
            Assert.That(profile.Content, Is.Not.Empty);
            Assert.That(profile.Nearest, Is.Not.Empty);
            Assert.That(profile.HasInterests, Is.True);
            Assert.That(inTwoSteps.Select(c => c.Item), Is.Ordered, "candidates come in item order");
        });
    }

    [Test]
    public void Build_WhenOnlyInteractionsChanged_ReusesTheCatalogueItemsAndRebuildsTheStatistics()
    {
        var index = Shop();
        var items = index.Items.ToList();
        var events = new[] { new ActivityRow(9, 15, EventKind.Purchase, Now.AddHours(-1)), new ActivityRow(9, 15, EventKind.Purchase, Now.AddHours(-2)) };

        var rebuilt = CatalogueIndex.Build(items, events, Now, Options, index.Catalogue);
        var renamed = items.Select(i => i.Id == 15 ? i with { Title = "Espresso Mystery Novel" } : i).ToList();
        var afterEdit = CatalogueIndex.Build(renamed, events, Now, Options, index.Catalogue);

        Assert.Multiple(() =>
        {
            Assert.That(rebuilt.Catalogue, Is.SameAs(index.Catalogue), "unchanged items: the same rows, categories and postings");
            Assert.That(index.Items[rebuilt.PopularList[0]].Id, Is.EqualTo(15L), "popularity follows the new interactions");
            Assert.That(afterEdit.Catalogue, Is.Not.SameAs(index.Catalogue), "an edited item builds new postings");
            Assert.That(afterEdit.Postings("espresso").ToArray().Select(p => afterEdit.Items[p.Item].Id), Does.Contain(15L));
            Assert.That(index.Postings("espresso").ToArray().Select(p => index.Items[p.Item].Id), Does.Not.Contain(15L));
        });
    }

    [Test]
    public void Diversity_WhenOneCategoryDominates_CapsItInTheWindowAndKeepsRankOrderOtherwise()
    {
        int[] categories = [0, 0, 0, 0, 0, 1, 2, 0, 1, 3, 4, 5, 0];
        var ranked = Enumerable.Range(0, categories.Length).ToList();

        var result = Diversity.Apply(ranked, i => categories[i], maxPerCategory: 2, window: 6, count: 10);

        Assert.Multiple(() =>
        {
            Assert.That(result.Take(6).GroupBy(i => categories[i]).Max(g => g.Count()), Is.LessThanOrEqualTo(2));
            Assert.That(result.Take(6), Is.EqualTo(new[] { 0, 1, 5, 6, 8, 9 }));
            Assert.That(result.Skip(6), Is.EqualTo(new[] { 2, 3, 4, 7 }), "waiting items follow in rank order");
            Assert.That(result, Is.Unique);
        });
    }

    [Test]
    public void Diversity_WhenTooFewCategories_FillsTheListAnyway()
    {
        var result = Diversity.Apply(Enumerable.Range(0, 8).ToList(), _ => 0, maxPerCategory: 3, window: 10, count: 5);

        Assert.That(result, Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
    }

    [Test]
    public void LogisticBlendFitter_WhenOneFeatureExplainsTheLabels_GivesItTheLargestWeight()
    {
        var random = new Random(7);
        var groups = Enumerable.Range(0, 200).Select(_ =>
        {
            var features = new List<float[]>();
            var labels = new List<bool>();
            for (var c = 0; c < 30; c++)
            {
                var row = Enumerable.Range(0, RecommendationFeatures.Count).Select(_ => (float)random.NextDouble()).ToArray();
                features.Add(row);
                // The content feature drives the outcome; the others are noise.
                labels.Add(random.NextDouble() < 1 / (1 + Math.Exp(-(10 * row[RecommendationFeatures.ContentIndex] - 11))));
            }

            return new FitGroup(features, labels);
        }).ToList();

        var (model, report) = LogisticBlendFitter.Fit("blend-test", "test", groups);

        Assert.Multiple(() =>
        {
            var content = model.Weights[RecommendationFeatures.ContentIndex];
            Assert.That(content, Is.GreaterThan(0));
            Assert.That(model.Weights.Where((_, i) => i != RecommendationFeatures.ContentIndex).Select(Math.Abs), Has.All.LessThan(content / 3));
            Assert.That(report.HeldOutHitRateAt10, Is.GreaterThan(report.HeldOutSourceHitRatesAt10[RecommendationFeatures.Popular]));
            Assert.That(report.Positives, Is.GreaterThan(0));
        });
    }
}

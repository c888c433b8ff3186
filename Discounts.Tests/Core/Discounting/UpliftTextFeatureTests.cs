using Discounts.Core.Discounting;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;

namespace Discounts.Tests.Core.Discounting;

/// <summary>The topic, keyword and scorer features of a logged offer: only what was known when the offer was made.</summary>
public sealed class UpliftTextFeatureTests
{
    private static readonly DateTime OfferAt = new(2026, 10, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly Lazy<TextProfileModel> Model = new(FitSmallModel);

    private static readonly ItemText Grinder = new(7, "Burr Espresso Grinder", "Coffee", "Moka Works", "A burr grinder for espresso beans, roast and brew.");
    private static readonly ItemText YogaMat = new(8, "Cork Yoga Mat", "Fitness", "Flow House", "A cork mat for yoga, stretch and balance.");

    private static readonly UpliftTraining.LoggedOffer Offer = new(
        OfferId: 100, UserId: 1, ItemId: Grinder.ItemId, Category: "Coffee", PriceCents: 12_999, CostCents: 6_000, Percent: 10, At: OfferAt, Bought: true);

    private static readonly PastText EarlierSearch = new("yoga mat stretch", OfferAt.AddDays(-3), TextKind.Search);

    /// <summary>Written two days after the offer: it says the user bought the grinder, which the offer's row must not see.</summary>
    private static readonly PastText LaterReview = new("love this espresso grinder, fresh beans roast brew every morning", OfferAt.AddDays(2), TextKind.Review);

    [Test]
    public void Features_WhenAReviewIsWrittenAfterTheOffer_TextFeaturesAreUnchanged()
    {
        var withoutReview = RowFeatures(new UserHistory([], [EarlierSearch]));
        var withReview = RowFeatures(new UserHistory([], [EarlierSearch, LaterReview]));

        Assert.That(withReview[^4..^2], Is.EqualTo(withoutReview[^4..^2]));
    }

    [Test]
    public void Features_WhenTheSameReviewCameBeforeTheOffer_TextFeaturesMoveTowardsTheItem()
    {
        // The control for the test above: the features do respond to text, when it is known in time.
        var before = LaterReview with { OccurredAt = OfferAt.AddHours(-1) };
        var withoutReview = RowFeatures(new UserHistory([], [EarlierSearch]));
        var withReview = RowFeatures(new UserHistory([], [EarlierSearch, before]));

        Assert.Multiple(() =>
        {
            // Only a little: the LDA prior (α = 100 / topics) pulls short texts' mixtures towards uniform.
            Assert.That(withReview[^4], Is.GreaterThan(withoutReview[^4]), "topic similarity");
            Assert.That(withReview[^3], Is.GreaterThan(withoutReview[^3]), "keyword match");
        });
    }

    [Test]
    public void Match_WhenTheUserWroteAboutTheItemsTopic_IsCloserThanForAnotherItem()
    {
        var matcher = new TextMatcher(Model.Value, [Grinder, YogaMat]);
        PastText[] texts = [new("espresso beans grinder roast", OfferAt.AddDays(-1), TextKind.Search)];

        var grinder = matcher.Match(1, texts, OfferAt, Grinder.ItemId);
        var mat = matcher.Match(1, texts, OfferAt, YogaMat.ItemId);

        Assert.Multiple(() =>
        {
            Assert.That(grinder.TopicSimilarity, Is.GreaterThan(mat.TopicSimilarity));
            Assert.That(grinder.KeywordMatch, Is.GreaterThan(0.5));
            Assert.That(mat.KeywordMatch, Is.Zero);
        });
    }

    [Test]
    public void Features_WhenThereIsNoTextModelOrNoTextBefore_TextFeaturesAreTheNeutralZero()
    {
        var noModel = UpliftTraining.Features(Offer, new UserHistory([], [EarlierSearch, LaterReview]), OfferAt.AddDays(30), TextMatcher.None);
        var nothingBefore = RowFeatures(new UserHistory([], [LaterReview]));

        Assert.Multiple(() =>
        {
            Assert.That(noModel[^4..^2], Is.EqualTo(new float[] { 0, 0 }));
            Assert.That(nothingBefore[^4..^2], Is.EqualTo(new float[] { 0, 0 }));
            Assert.That(noModel, Has.Length.EqualTo(UpliftFeatures.Count));
        });
    }

    [Test]
    public void Features_WhenTheOfferLoggedAScorerProbability_UseTheLoggedValueAndFlagIt()
    {
        var logged = UpliftTraining.Features(Offer with { ScorerProbability = 0.37 }, UserHistory.Empty, OfferAt.AddDays(30), TextMatcher.None);
        var missing = UpliftTraining.Features(Offer, UserHistory.Empty, OfferAt.AddDays(30), TextMatcher.None);

        Assert.Multiple(() =>
        {
            Assert.That(logged[^2..], Is.EqualTo(new[] { 1f, 0.37f }));
            Assert.That(missing[^2..], Is.EqualTo(new[] { 0f, 0f }));
        });
    }

    /// <summary>A training row's features, read a month after the offer as the train-uplift job would, each time with a fresh matcher.</summary>
    private static float[] RowFeatures(UserHistory history) =>
        UpliftTraining.Features(Offer, history, OfferAt.AddDays(30), new TextMatcher(Model.Value, [Grinder, YogaMat]));

    /// <summary>Two clearly separate subjects, each word in several documents, so a two-topic model finds them.</summary>
    private static TextProfileModel FitSmallModel()
    {
        string[] coffee = ["espresso grinder beans", "fresh roast beans brew", "espresso brew morning", "burr grinder roast", "beans espresso roast fresh", "brew morning grinder"];
        string[] fitness = ["yoga mat stretch", "cork mat balance", "stretch balance yoga", "yoga flow mat", "balance stretch cork", "mat yoga flow"];
        var documents = Enumerable.Range(0, 4).SelectMany(_ => coffee.Concat(fitness))
            .Select(d => (IReadOnlyList<string>)Tokenizer.Tokenize(d)).ToList();
        return TextProfileModel.Fit(documents, new TextModelOptions { TopicCount = 2, LdaIterations = 50, Threads = 1, MaxDocumentShare = 0.6 }, OfferAt);
    }
}

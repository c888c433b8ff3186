using Discounts.Core.Discounting;

namespace Discounts.Tests.Core.Discounting;

public sealed class DiscountReasonTests
{
    private static readonly UserSignals Signals = new(3, 12_000, 4, 20, 0.4, 1, 0.33, 5, 0.3, 0.1, -0.1, 0.3, 4_000);

    [Test]
    public void Describe_WhenTheUsersWordsReadAsDealSeekingAndADiscountIsGiven_SaysSoWithTheLearnedWords()
    {
        var decision = new PolicyDecision(15, 8_500, 0.1, 0.2, 300, 1, false, []);

        var reason = DiscountReason.Describe(decision, 4_000, "Coffee", Signals, ["deals", "cheap", "budget", "code"]);

        Assert.That(reason, Does.Contain("often looks for deals in what they write (words such as 'deals', 'cheap', 'budget')"));
    }

    [Test]
    public void Describe_WhenNoDiscountIsGiven_DoesNotMentionDeals()
    {
        var decision = new PolicyDecision(0, 10_000, 0.6, 0.6, 0, 1, false, []);

        var reason = DiscountReason.Describe(decision, 4_000, "Coffee", Signals, ["deals", "cheap"]);

        Assert.That(reason, Does.Not.Contain("deals"));
    }

    [Test]
    public void Describe_WhenTheWordsDoNotReadAsDealSeeking_DoesNotMentionDeals()
    {
        var decision = new PolicyDecision(15, 8_500, 0.1, 0.2, 300, 1, false, []);

        Assert.That(DiscountReason.Describe(decision, 4_000, "Coffee", Signals), Does.Not.Contain("looks for deals"));
    }
}

using Discounts.Core.Evaluation;

namespace Discounts.Tests.Core.Discounting;

public sealed class OffPolicyTests
{
    [Test]
    public void Estimate_WhenWorkedByHand_GivesIpsSnipsAndDoublyRobust()
    {
        // Three decisions; the candidate always takes action 1.
        LoggedDecision[] log =
        [
            new(Action: 1, Propensity: 0.5, Reward: 10, ModelReward: [2, 8]),
            new(Action: 0, Propensity: 0.5, Reward: 4, ModelReward: [3, 6]),
            new(Action: 1, Propensity: 0.25, Reward: 0, ModelReward: [1, 2]),
        ];

        var estimate = OffPolicy.Estimate(log, _ => 1);

        Assert.Multiple(() =>
        {
            // IPS: (2 × 10 + 0 + 4 × 0) / 3.
            Assert.That(estimate.Ips, Is.EqualTo(20.0 / 3).Within(1e-12));
            // SNIPS: 20 / (2 + 4).
            Assert.That(estimate.SelfNormalisedIps, Is.EqualTo(20.0 / 6).Within(1e-12));
            // DR: (8 + 2 × (10 − 8)) + 6 + (2 + 4 × (0 − 2)), over 3.
            Assert.That(estimate.DoublyRobust, Is.EqualTo((12.0 + 6 - 6) / 3).Within(1e-12));
            Assert.That(estimate.Matched, Is.EqualTo(2));
            Assert.That(estimate.EffectiveSampleSize, Is.EqualTo(36.0 / 20).Within(1e-12));
        });
    }

    [Test]
    public void Estimate_WhenCandidateIsTheUniformLoggingPolicysMean_IsUnbiasedOnSimulatedLogs()
    {
        // Rewards: action a pays a + noise; the log draws actions uniformly from 5. The candidate "always 3" is worth 3.
        var random = new Random(4);
        var log = Enumerable.Range(0, 50_000).Select(_ =>
        {
            var action = random.Next(5);
            return new LoggedDecision(action, 0.2, action + random.NextDouble() - 0.5, [0, 1, 2, 3, 4]);
        }).ToList();

        var estimate = OffPolicy.Estimate(log, _ => 3);

        Assert.That(estimate.Ips, Is.EqualTo(3).Within(0.1));
        Assert.That(estimate.SelfNormalisedIps, Is.EqualTo(3).Within(0.02));
        Assert.That(estimate.DoublyRobust, Is.EqualTo(3).Within(0.02));
    }

    [Test]
    public void Estimate_WhenAPropensityIsZero_Refuses()
    {
        Assert.Throws<ArgumentException>(() => OffPolicy.Estimate([new LoggedDecision(0, 0, 1, [1])], _ => 0));
    }
}

namespace Discounts.Core.Evaluation;

/// <summary>
/// One logged decision: which action the logging policy took, with what probability, and the reward it earned.
/// <see cref="ModelReward"/> is a reward model's estimate for every action, used by the doubly robust estimator.
/// </summary>
public sealed record LoggedDecision(int Action, double Propensity, double Reward, IReadOnlyList<double> ModelReward);

public sealed record OffPolicyEstimate(double Ips, double SelfNormalisedIps, double DoublyRobust, int Decisions, int Matched, double EffectiveSampleSize);

/// <summary>
/// What a candidate policy would have earned per decision on logs gathered by another policy:
/// IPS weighs each logged reward by 1/propensity where the candidate agrees with the log; self-normalised IPS divides
/// by the sum of weights instead of n (less variance, slight bias); doubly robust starts from the reward model's
/// estimate for the candidate's action and corrects it with the weighted residual where they agree.
/// </summary>
public static class OffPolicy
{
    public static OffPolicyEstimate Estimate(IReadOnlyList<LoggedDecision> log, Func<int, int> candidateAction)
    {
        if (log.Count == 0)
        {
            return new OffPolicyEstimate(0, 0, 0, 0, 0, 0);
        }

        double ips = 0, weights = 0, squaredWeights = 0, dr = 0;
        var matched = 0;
        for (var i = 0; i < log.Count; i++)
        {
            var decision = log[i];
            if (decision.Propensity <= 0)
            {
                throw new ArgumentException($"Decision {i} has propensity {decision.Propensity}; logged propensities must be positive.", nameof(log));
            }

            var action = candidateAction(i);
            var weight = action == decision.Action ? 1 / decision.Propensity : 0;
            matched += weight > 0 ? 1 : 0;
            ips += weight * decision.Reward;
            weights += weight;
            squaredWeights += weight * weight;
            dr += decision.ModelReward[action] + weight * (decision.Reward - decision.ModelReward[decision.Action]);
        }

        return new OffPolicyEstimate(
            ips / log.Count,
            weights == 0 ? 0 : ips / weights,
            dr / log.Count,
            log.Count,
            matched,
            squaredWeights == 0 ? 0 : weights * weights / squaredWeights);
    }
}

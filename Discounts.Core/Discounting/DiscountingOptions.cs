using System.ComponentModel.DataAnnotations;

namespace Discounts.Core.Discounting;

/// <summary>The guardrails every quote obeys. Validated at start: a host with a nonsensical ladder does not run.</summary>
public sealed class DiscountingOptions : IValidatableObject
{
    public const string Section = "Discounting";

    /// <summary>The discount levels, in whole percent, that the uplift model prices; must start at 0.</summary>
    public int[] Ladder { get; set; } = [0, 5, 10, 15, 20];

    [Range(0, 90)]
    public int MaxPercent { get; set; } = 20;

    /// <summary>The final price is never below cost × (1 + floor).</summary>
    [Range(0.0, 10.0)]
    public double MarginFloor { get; set; } = 0.10;

    /// <summary>At most this many discounted quotes, and as many redemptions, per user per UTC day.</summary>
    [Range(0, 1_000)]
    public int MaxDiscountsPerUserPerDay { get; set; } = 3;

    [Range(1, 7 * 24 * 60)]
    public int QuoteLifetimeMinutes { get; set; } = 60;

    /// <summary>The share of quotes whose level is drawn uniformly from the allowed levels, logged with its propensity.</summary>
    [Range(0.0, 1.0)]
    public double ExplorationShare { get; set; } = 0.05;

    [Range(1, 200)]
    public int MaxItemsPerQuote { get; set; } = 50;

    /// <summary>Offer a fixed-amount coupon on the basket instead of percent off the item when it earns more.</summary>
    public bool CouponsEnabled { get; set; } = true;

    /// <summary>A coupon is considered only when the user's expected basket is at least this many times the item's price.</summary>
    [Range(1.0, 100.0)]
    public double CouponMinimumBasketRatio { get; set; } = 1.25;

    /// <summary>
    /// The relative learner with boosted stumps: across six generated demo shops it earned more than the X-learner on
    /// every one (docs/BENCHMARKS.md). Stumps make β(x) a sum of one-feature steps, which the few thousand offers a
    /// shop logs can support; deeper trees fitted noise.
    /// </summary>
    public UpliftLearnerOptions Learner { get; set; } = new() { Kind = UpliftLearnerKind.Selected, Leaves = 2, Iterations = 200, MinimumRowsPerLeaf = 300 };

    /// <summary>
    /// Pull each user's predicted lift towards the population's by the amount (λ) whose greedy policy earns most on the
    /// training log, by cross-fitted doubly robust value; off uses the learner's lift as it is.
    /// </summary>
    public bool TuneShrinkage { get; set; } = true;

    /// <summary>
    /// Use the language features: the topic similarity and keyword match of the user's words with the item's, and the
    /// price language (<see cref="PriceLanguage"/>: what the user's searches and chats say about price sensitivity,
    /// read through the scorer's user tower and learned from the log) priced by the language head
    /// (<see cref="UpliftLearnerOptions.LanguageHead"/>); every text read as of each decision. Off by default: on the
    /// nine documented shops the language features beat 10 % for everyone on 8 of 9 and raised the median share of the
    /// oracle's incremental profit from 0.619 to 0.691, short of the 0.70 and 9 of 9 the switch is held to
    /// (docs/BENCHMARKS.md). A model records
    /// the setting it was trained with, and quotes follow the model, so changing it takes effect with the next training.
    /// </summary>
    public bool TextFeatures { get; set; }

    /// <summary>When the recurring `train-uplift` job retrains the uplift model on the growing log; Hangfire cron, UTC (daily at midnight).</summary>
    [Required]
    public string UpliftTrainingCron { get; set; } = "0 0 * * *";

    /// <summary>The ladder as the relative learner's doses: each level's percent.</summary>
    public double[] LadderDoses => Ladder.Select(percent => (double)percent).ToArray();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Ladder.Length < 2 || Ladder[0] != 0)
        {
            yield return new ValidationResult("The ladder needs 0 and at least one discount level.", [nameof(Ladder)]);
        }

        if (Ladder.Zip(Ladder.Skip(1)).Any(pair => pair.First >= pair.Second) || Ladder.Any(level => level is < 0 or > 90))
        {
            yield return new ValidationResult("Ladder levels must rise strictly and lie between 0 and 90.", [nameof(Ladder)]);
        }
    }
}

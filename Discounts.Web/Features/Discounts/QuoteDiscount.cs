using System.Security.Cryptography;
using Discounts.Core.Serving;
using Discounts.Core.Data;
using Discounts.Core.Discounting;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Discounts.Core.Scoring;
using Discounts.Web.Infrastructure;
using FluentValidation;
using FluentValidation.Results;
using Mediator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Features.Discounts;

public static class QuoteDiscount
{
    public sealed record Command(string UserId, IReadOnlyList<string> ItemIds, string? CampaignId) : ICommand<Result>;

    public sealed record Result(string UserId, string? CampaignId, IReadOnlyList<DiscountQuote> Quotes);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IOptions<DiscountingOptions> options)
        {
            RuleFor(c => c.UserId).ValidExternalId();
            RuleFor(c => c.ItemIds).NotNull().NotEmpty()
                .Must(ids => ids.Count <= options.Value.MaxItemsPerQuote).WithMessage($"At most {options.Value.MaxItemsPerQuote} items per quote.")
                .Must(ids => ids.Distinct().Count() == ids.Count).WithMessage("Item ids must not repeat.");
            RuleForEach(c => c.ItemIds).ValidExternalId();
            RuleFor(c => c.CampaignId).ValidExternalId().When(c => c.CampaignId is not null);
        }
    }

    /// <summary>
    /// No EF on the way: the reads are prepared statements, the user's history is cached until it changes, and the
    /// offers go to the group-committing <see cref="OfferLog"/>, which answers once they are on disk.
    /// </summary>
    public sealed class Handler(
        QuoteReads reads,
        UserHistoryCache histories,
        OfferLog offerLog,
        UserQuoteLocks userLocks,
        IServiceScopeFactory scopes,
        UpliftModelStore models,
        TextModelStore textModels,
        IScorer scorer,
        IRecommendationService recommendations,
        IOptions<DiscountingOptions> options,
        TimeProvider clock) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            // Today's discounts are counted under the lock, after any earlier quote for this user has committed its offers.
            using var quoting = await userLocks.AcquireAsync(command.UserId, cancellationToken);
            var now = clock.GetUtcNow().UtcDateTime;
            var user = await reads.UserAsync(command.UserId, now.Date, cancellationToken) ?? throw new NotFoundException("User", command.UserId);
            var items = await reads.ItemsAsync(command.ItemIds, cancellationToken);
            var missing = command.ItemIds.Select((id, index) => (id, index)).Where(x => !items.ContainsKey(x.id))
                .Select(x => new ValidationFailure($"ItemIds[{x.index}]", $"No item has the id '{x.id}'.")).ToList();
            if (missing.Count > 0)
            {
                throw new ValidationException(missing);
            }

            var campaign = await reads.ActiveCampaignAsync(command.CampaignId, now, cancellationToken);
            if (campaign is null && command.CampaignId is not null)
            {
                throw new ValidationException([new ValidationFailure(nameof(Command.CampaignId), $"No active campaign has the id '{command.CampaignId}'.")]);
            }

            var history = await histories.GetAsync(user.Id, user.History, cancellationToken);
            var model = await models.GetOrTrainAsync(cancellationToken);
            var ordered = command.ItemIds.Select(id => items[id]).ToList();
            var signals = ordered.Select(item => history.SignalsFor(item.Category, now)).ToList();
            // Training reads the same two things for a logged offer: texts written before it and the p(buy) logged with it.
            var text = model.TextFeatures ? await TextMatcherAsync(ordered, model, cancellationToken) : TextMatcher.None;
            var dealWords = model.TextFeatures && model.Language.SeeksDeals(history.Texts, now) ? model.Language.Words : null;
            var (scorerVersion, buyProbabilities) = ScorerProbabilities(user, ordered);
            var probabilities = model.PurchaseProbabilities(ordered.Select((item, i) => UpliftFeatures.Build(
                signals[i], item.PriceCents, item.CostCents, text.Match(user.Id, history.Texts, now, item.Id), buyProbabilities[i])).ToList());

            var policy = new DiscountPolicy(options.Value);
            var discountsLeft = options.Value.MaxDiscountsPerUserPerDay - (int)user.DiscountsToday;
            var quotes = new List<DiscountQuote>();
            var offers = new List<Offer>();
            for (var i = 0; i < ordered.Count; i++)
            {
                var item = ordered[i];
                var decision = policy.Decide(
                    new PolicyInput(item.PriceCents, item.CostCents, probabilities[i], user.ConsentsToPersonalisation, discountsLeft,
                        campaign is null ? 0 : campaign.BudgetCents - campaign.SpentCents, signals[i].AverageBasketCents),
                    Random.Shared);
                var constraints = campaign is null ? decision.Constraints.Append("no active campaign funds discounts").ToList() : decision.Constraints;
                decision = decision with { Constraints = constraints };
                var discounted = decision.Percent > 0 || decision.Coupon is not null;
                discountsLeft -= discounted ? 1 : 0;
                var offer = new Offer
                {
                    ExternalId = "off_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)),
                    UserId = user.Id,
                    ItemId = item.Id,
                    CampaignId = campaign?.Id,
                    Kind = decision.Coupon is null ? OfferKind.PercentOff : OfferKind.FixedAmountCoupon,
                    DiscountPercent = decision.Coupon is { } coupon ? (int)Math.Round(coupon.EffectivePercent) : decision.Percent,
                    AmountOffCents = decision.Coupon?.AmountOffCents ?? 0,
                    MinimumBasketCents = decision.Coupon?.MinimumBasketCents ?? 0,
                    ListPriceCents = item.PriceCents,
                    FinalPriceCents = decision.FinalPriceCents,
                    ExpectedUplift = decision.ProbabilityWith - decision.ProbabilityWithout,
                    Propensity = decision.Propensity,
                    IsExploration = decision.IsExploration,
                    ModelVersion = model.Version,
                    ScorerProbability = buyProbabilities[i],
                    ScorerVersion = buyProbabilities[i] is null ? null : scorerVersion,
                    Reason = DiscountReason.Describe(decision, item.CostCents, item.Category, signals[i], dealWords),
                    Status = OfferStatus.Quoted,
                    CreatedAt = now,
                    ExpiresAt = now.AddMinutes(options.Value.QuoteLifetimeMinutes),
                };
                offers.Add(offer);
                quotes.Add(new DiscountQuote(item.ExternalId, offer.ExternalId, offer.Kind, offer.DiscountPercent, offer.ListPriceCents, offer.FinalPriceCents,
                    offer.AmountOffCents, offer.MinimumBasketCents, offer.ExpiresAt, model.Version, offer.ExpectedUplift, (long)Math.Round(decision.ExpectedIncrementalProfitCents), offer.IsExploration, offer.Reason,
                    offer.ScorerProbability, offer.ScorerVersion));
            }

            await offerLog.WriteAsync(offers);
            return new Result(user.ExternalId, campaign?.ExternalId, quotes);
        }

        /// <summary>The text features read the items' texts through EF; they are off by default, and only then is the path EF-free.</summary>
        private async Task<TextMatcher> TextMatcherAsync(List<QuoteItem> items, UpliftModel model, CancellationToken cancellationToken)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
            return await UpliftLog.TextMatcherAsync(db, textModels, items.Select(i => i.Id).ToList(), model.Language, cancellationToken);
        }

        /// <summary>
        /// The serving scorer's p(buy) of each item at its list price for the user's current profile, with the version
        /// that computed it; null per item where no scorer serves, the user has no profile text yet, or the version does
        /// not know the item. The user's vector is the recommendation service's, cached per profile and scorer version.
        /// </summary>
        private (string? Version, double?[] Probabilities) ScorerProbabilities(QuoteUser user, List<QuoteItem> items)
        {
            var none = new double?[items.Count];
            if (scorer.ActiveVersion is not { } version || user.ProfileVersion is not { } profileVersion
                || recommendations.UserVector(user.Id, profileVersion, user.ProfileText, version) is not { } vector
                || scorer.ScoreUserVector(version, vector, items.Select(i => i.Id).ToList()) is not { } scored)
            {
                return (null, none);
            }

            return (version.Name, scored.Probabilities.Select(p => float.IsFinite(p) ? Math.Clamp((double)p, 0, 1) : (double?)null).ToArray());
        }
    }

    /// <summary>Quotes for other parts of the host (recommendation lists) through this slice's command, so its validation, guardrails and audit trail apply.</summary>
    public sealed class Quoter(ISender sender) : IDiscountQuoter
    {
        public async Task<IReadOnlyList<DiscountQuote>> QuoteAsync(string userId, IReadOnlyList<string> itemIds, CancellationToken cancellationToken) =>
            (await sender.Send(new Command(userId, itemIds, null), cancellationToken)).Quotes;
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/quotes", async (Command command, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(command, cancellationToken)))
            .WithName("QuoteDiscount")
            .WithSummary("Quote a personalised discount for each item")
            .WithDescription("For each item: the discount that maximises expected incremental profit within the guardrails, its final price, expiry, model version and reason. Every quote is stored.")
            .RequireAuthorization(Policies.Shop)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
}

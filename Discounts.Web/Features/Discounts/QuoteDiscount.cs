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
using Microsoft.EntityFrameworkCore;
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

    public sealed class Handler(
        DiscountsDbContext db,
        UpliftModelStore models,
        TextModelStore textModels,
        IScorer scorer,
        IRecommendationService recommendations,
        IOptions<DiscountingOptions> options,
        TimeProvider clock) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.ExternalId == command.UserId, cancellationToken)
                       ?? throw new NotFoundException("User", command.UserId);
            var items = await db.Items.AsNoTracking().Where(i => command.ItemIds.Contains(i.ExternalId)).ToDictionaryAsync(i => i.ExternalId, cancellationToken);
            var missing = command.ItemIds.Select((id, index) => (id, index)).Where(x => !items.ContainsKey(x.id))
                .Select(x => new ValidationFailure($"ItemIds[{x.index}]", $"No item has the id '{x.id}'.")).ToList();
            if (missing.Count > 0)
            {
                throw new ValidationException(missing);
            }

            var campaign = await FindCampaignAsync(command.CampaignId, now, cancellationToken);
            var discountsToday = await db.Offers.CountAsync(o => o.UserId == user.Id && o.DiscountPercent > 0 && o.CreatedAt >= now.Date, cancellationToken);
            var history = (await UpliftHistory.LoadAsync(db, [user.Id], cancellationToken)).GetValueOrDefault(user.Id) ?? UserHistory.Empty;
            var model = await models.GetOrTrainAsync(cancellationToken);
            var ordered = command.ItemIds.Select(id => items[id]).ToList();
            var signals = ordered.Select(item => history.SignalsFor(item.Category, now)).ToList();
            // Training reads the same two things for a logged offer: texts written before it and the p(buy) logged with it.
            var text = model.TextFeatures ? await UpliftLog.TextMatcherAsync(db, textModels, ordered.Select(i => i.Id).ToList(), model.Language, cancellationToken) : TextMatcher.None;
            var dealWords = model.TextFeatures && model.Language.SeeksDeals(history.Texts, now) ? model.Language.Words : null;
            var (scorerVersion, buyProbabilities) = await ScorerProbabilitiesAsync(user.Id, ordered, cancellationToken);
            var probabilities = model.PurchaseProbabilities(ordered.Select((item, i) => UpliftFeatures.Build(
                signals[i], item.PriceCents, item.CostCents, text.Match(user.Id, history.Texts, now, item.Id), buyProbabilities[i])).ToList());

            var policy = new DiscountPolicy(options.Value);
            var discountsLeft = options.Value.MaxDiscountsPerUserPerDay - discountsToday;
            var quotes = new List<DiscountQuote>();
            var offers = new List<Offer>();
            for (var i = 0; i < ordered.Count; i++)
            {
                var item = ordered[i];
                var decision = policy.Decide(
                    new PolicyInput(item.PriceCents, item.CostCents, probabilities[i], user.ConsentPersonalisation, discountsLeft,
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

            db.Offers.AddRange(offers);
            await db.SaveChangesAsync(cancellationToken);
            return new Result(user.ExternalId, campaign?.ExternalId, quotes);
        }

        /// <summary>
        /// The serving scorer's p(buy) of each item at its list price for the user's current profile, with the version
        /// that computed it; null per item where no scorer serves, the user has no profile text yet, or the version does
        /// not know the item. The user's vector is the recommendation service's, cached per profile and scorer version.
        /// </summary>
        private async Task<(string? Version, double?[] Probabilities)> ScorerProbabilitiesAsync(long userId, List<Item> items, CancellationToken cancellationToken)
        {
            var none = new double?[items.Count];
            if (scorer.ActiveVersion is not { } version)
            {
                return (null, none);
            }

            var profile = await db.Profiles.AsNoTracking().Where(p => p.UserId == userId)
                .Select(p => new { p.Version, p.ProfileText }).FirstOrDefaultAsync(cancellationToken);
            if (profile is null || recommendations.UserVector(userId, profile.Version, profile.ProfileText, version) is not { } vector)
            {
                return (null, none);
            }

            if (scorer.ScoreUserVector(version, vector, items.Select(i => i.Id).ToList()) is not { } scored)
            {
                return (null, none);
            }

            return (version.Name, scored.Probabilities.Select(p => float.IsFinite(p) ? Math.Clamp((double)p, 0, 1) : (double?)null).ToArray());
        }

        private async Task<Campaign?> FindCampaignAsync(string? campaignId, DateTime now, CancellationToken cancellationToken)
        {
            var active = db.Campaigns.AsNoTracking().Where(c => c.IsActive && c.StartsAt <= now && (c.EndsAt == null || c.EndsAt > now));
            if (campaignId is null)
            {
                return await active.OrderBy(c => c.Id).FirstOrDefaultAsync(cancellationToken);
            }

            return await active.SingleOrDefaultAsync(c => c.ExternalId == campaignId, cancellationToken)
                   ?? throw new ValidationException([new ValidationFailure(nameof(Command.CampaignId), $"No active campaign has the id '{campaignId}'.")]);
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

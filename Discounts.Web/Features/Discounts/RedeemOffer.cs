using Discounts.Core.Data;
using Discounts.Core.Discounting;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Features.Discounts;

public static class RedeemOffer
{
    public sealed record Body(string UserId);

    public sealed record Command(string OfferId, string UserId) : ICommand<Result>;

    public sealed record Result(string OfferId, OfferStatus Status, int DiscountPercent, long FinalPriceCents, long DiscountCents, DateTime RedeemedAt, bool AlreadyRedeemed);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.OfferId).ValidExternalId();
            RuleFor(c => c.UserId).ValidExternalId();
        }
    }

    /// <summary>
    /// Claims the offer and charges its campaign in one transaction. Both updates are conditional, so concurrent
    /// redemptions can neither redeem an offer twice nor spend past the budget (the schema's check constraint backs it).
    /// </summary>
    public sealed class Handler(DiscountsDbContext db, IOptions<DiscountingOptions> options, TimeProvider clock) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var offer = await db.Offers.AsNoTracking().Include(o => o.User).SingleOrDefaultAsync(o => o.ExternalId == command.OfferId, cancellationToken)
                        ?? throw new NotFoundException("Offer", command.OfferId);
            if (offer.User!.ExternalId != command.UserId)
            {
                throw new ProblemException(StatusCodes.Status403Forbidden, "Offer belongs to another user", "This offer was quoted to a different user.");
            }

            var discount = offer.Kind == OfferKind.FixedAmountCoupon ? offer.AmountOffCents : offer.ListPriceCents - offer.FinalPriceCents;
            if (offer.Status == OfferStatus.Redeemed)
            {
                return new Result(offer.ExternalId, offer.Status, offer.DiscountPercent, offer.FinalPriceCents, discount, offer.RedeemedAt!.Value, AlreadyRedeemed: true);
            }

            if (offer.ExpiresAt <= now)
            {
                throw new ProblemException(StatusCodes.Status410Gone, "Offer expired", $"The offer expired at {offer.ExpiresAt:O}.");
            }

            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var claimed = await db.Offers.Where(o => o.Id == offer.Id && o.Status == OfferStatus.Quoted)
                .ExecuteUpdateAsync(o => o.SetProperty(x => x.Status, OfferStatus.Redeemed).SetProperty(x => x.RedeemedAt, now), cancellationToken);
            if (claimed == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                var redeemed = await db.Offers.AsNoTracking().SingleAsync(o => o.Id == offer.Id, cancellationToken);
                return new Result(redeemed.ExternalId, redeemed.Status, redeemed.DiscountPercent, redeemed.FinalPriceCents, discount, redeemed.RedeemedAt ?? now, AlreadyRedeemed: true);
            }

            if (discount > 0)
            {
                // The cap is counted after the claim; on PostgreSQL this user's redemptions also queue here, so two
                // concurrent ones never both count the other as not yet redeemed.
                await db.LockForTransactionAsync(LockScope.UserRedemptions, offer.UserId, cancellationToken);
                var redeemedToday = await db.Offers.CountAsync(
                    o => o.UserId == offer.UserId && o.Status == OfferStatus.Redeemed && o.DiscountPercent > 0 && o.RedeemedAt >= now.Date, cancellationToken);
                if (redeemedToday > options.Value.MaxDiscountsPerUserPerDay)
                {
                    await transaction.RollbackAsync(cancellationToken);
                    throw new ConflictException($"The user has reached the daily limit of {options.Value.MaxDiscountsPerUserPerDay} discounts.");
                }

                var charged = offer.CampaignId is { } campaignId && await db.Campaigns
                    .Where(c => c.Id == campaignId && c.SpentCents + discount <= c.BudgetCents)
                    .ExecuteUpdateAsync(c => c.SetProperty(x => x.SpentCents, x => x.SpentCents + discount), cancellationToken) == 1;
                if (!charged)
                {
                    await transaction.RollbackAsync(cancellationToken);
                    throw new ConflictException("The campaign's budget cannot fund this discount any more.");
                }
            }

            db.Events.Add(new InteractionEvent
            {
                UserId = offer.UserId,
                ItemId = offer.ItemId,
                Kind = EventKind.OfferRedeemed,
                PriceCents = offer.FinalPriceCents,
                DiscountPercent = offer.DiscountPercent,
                OfferId = offer.Id,
                IdempotencyKey = $"redeem-{offer.ExternalId}",
                OccurredAt = now,
            });
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return new Result(offer.ExternalId, OfferStatus.Redeemed, offer.DiscountPercent, offer.FinalPriceCents, discount, now, AlreadyRedeemed: false);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/offers/{offerId}/redeem", async (string offerId, Body body, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Command(offerId, body.UserId), cancellationToken)))
            .WithName("RedeemOffer")
            .WithSummary("Redeem a quoted offer (idempotent)")
            .WithDescription("Charges the discount to the offer's campaign. Redeeming again returns the same result. Refuses expired (410), foreign (403), unknown (404) and unfundable or over-limit (409) offers.")
            .RequireAuthorization(Policies.Shop)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status410Gone);
}

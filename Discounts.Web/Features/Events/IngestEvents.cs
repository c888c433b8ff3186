using Discounts.Core.Serving;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Discounts.Web.Features.Profiles;
using Discounts.Web.Infrastructure;
using FluentValidation;
using FluentValidation.Results;
using Mediator;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Events;

public static class IngestEvents
{
    public sealed record Command(IReadOnlyList<EventRecord>? Events) : ICommand<Result>;

    /// <summary>
    /// One thing a user did. <c>eventId</c> is the shop's id for it: a replay is accepted and ignored. Prices are
    /// integer cents actually paid or shown, after any discount. <c>recommendationId</c> (optional) names the
    /// recommendation list the user acted from; the item must be one that list showed to that user.
    /// </summary>
    public sealed record EventRecord(
        string? EventId, string? UserId, string? ItemId, EventKind? Kind, long? PriceCents, int? DiscountPercent, string? OfferId, DateTime? OccurredAt,
        string? RecommendationId = null);

    public sealed record Result(int Accepted, int Duplicates, int UsersCreated);

    public static readonly EventKind[] IngestibleKinds = [EventKind.View, EventKind.Click, EventKind.Cart, EventKind.Purchase];

    public sealed class EventRecordValidator : AbstractValidator<EventRecord>
    {
        public EventRecordValidator(TimeProvider clock)
        {
            RuleFor(r => r.EventId).ValidExternalId();
            RuleFor(r => r.UserId).ValidExternalId();
            RuleFor(r => r.ItemId).ValidExternalId();
            RuleFor(r => r.Kind).NotNull().WithMessage("kind is required.")
                .Must(kind => kind is null || IngestibleKinds.Contains(kind.Value)).WithMessage("kind must be view, click, cart or purchase.");
            RuleFor(r => r.PriceCents).GreaterThanOrEqualTo(0).WithMessage("priceCents must be 0 or more (integer cents).");
            RuleFor(r => r.PriceCents).NotNull().When(r => r.Kind is EventKind.Cart or EventKind.Purchase)
                .WithMessage("priceCents is required for carts and purchases.");
            RuleFor(r => r.DiscountPercent).InclusiveBetween(0, 100).WithMessage("discountPercent must be between 0 and 100.");
            RuleFor(r => r.OfferId).MaximumLength(Limits.ExternalIdLength);
            RuleFor(r => r.RecommendationId).ValidExternalId().When(r => r.RecommendationId is not null);
            RuleFor(r => r.OccurredAt).NotNull().WithMessage("occurredAt is required.").ValidEventTime(clock);
        }
    }

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator(TimeProvider clock)
        {
            RuleFor(c => c.Events).ValidBatch();
            RuleForEach(c => c.Events).NotNull().WithMessage("A record must not be null.").SetValidator(new EventRecordValidator(clock));
        }
    }

    public sealed class Handler(DiscountsDbContext db, TimeProvider clock, ProfileRefreshScheduler refresh, IRecommendationService recommendations) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var records = command.Events!;
            var now = clock.GetUtcNow().UtcDateTime;
            var failures = new List<ValidationFailure>();
            var items = await Ingestion.ResolveItemsAsync(db, records.Select(r => r.ItemId).ToList(), "events", "itemId", failures, cancellationToken);
            var offers = await ResolveOffersAsync(records, failures, cancellationToken);
            await CheckRecommendationsAsync(records, items, failures, cancellationToken);
            Ingestion.ThrowIfAny(failures);

            var keys = records.Select(r => r.EventId!).Distinct(StringComparer.Ordinal).ToList();
            var seen = (await db.Events.AsNoTracking().Where(e => keys.Contains(e.IdempotencyKey)).Select(e => e.IdempotencyKey).ToListAsync(cancellationToken))
                .ToHashSet(StringComparer.Ordinal);
            var fresh = records.Where(r => seen.Add(r.EventId!)).ToList();

            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var (users, created) = await Ingestion.EnsureUsersAsync(db, fresh.Select(r => r.UserId!), now, cancellationToken);
            db.Events.AddRange(fresh.Select(r => new InteractionEvent
            {
                IdempotencyKey = r.EventId!,
                UserId = users[r.UserId!],
                ItemId = items[r.ItemId!],
                Kind = r.Kind!.Value,
                PriceCents = r.PriceCents,
                DiscountPercent = r.DiscountPercent ?? 0,
                OfferId = r.OfferId is null ? null : offers[r.OfferId],
                OccurredAt = r.OccurredAt!.Value.ToUniversalTime(),
                RecommendationId = r.RecommendationId,
            }));
            await ProfileBuilder.QueueAsync(db, fresh.Select(r => users[r.UserId!]).ToList(), now, cancellationToken);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException)
            {
                // Only a concurrent batch carrying the same eventId gets here; the retry will see it as a duplicate.
                throw new ConflictException("Another batch with some of these eventIds was stored at the same moment; send this batch again.");
            }

            await transaction.CommitAsync(cancellationToken);
            if (fresh.Count > 0)
            {
                refresh.RequestRefresh();
            }

            return new Result(fresh.Count, records.Count - fresh.Count, created);
        }

        /// <summary>An attributed event must name a list this service served, to the same user, showing the same item.</summary>
        private async Task CheckRecommendationsAsync(
            IReadOnlyList<EventRecord> records, Dictionary<string, long> items, List<ValidationFailure> failures, CancellationToken cancellationToken)
        {
            var wanted = records.Select(r => r.RecommendationId).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
            if (wanted.Count == 0)
            {
                return;
            }

            await recommendations.FlushImpressionsAsync(cancellationToken);
            var lists = (await (
                    from l in db.RecommendationLists.AsNoTracking()
                    where wanted.Contains(l.RecommendationId)
                    join u in db.Users.AsNoTracking() on l.UserId equals u.Id
                    select new { l.RecommendationId, User = u.ExternalId, l.Items })
                .ToListAsync(cancellationToken))
                .ToDictionary(l => l.RecommendationId, l => (l.User, Items: ShownItems.Parse(l.Items).Select(i => i.ItemId).ToHashSet()), StringComparer.Ordinal);
            for (var i = 0; i < records.Count; i++)
            {
                if (records[i].RecommendationId is not { } id)
                {
                    continue;
                }

                if (!lists.TryGetValue(id, out var list))
                {
                    failures.Add(new ValidationFailure($"events[{i}].recommendationId", $"Recommendation '{id}' is unknown; use the recommendationId of a list this service returned."));
                }
                else if (list.User != records[i].UserId)
                {
                    failures.Add(new ValidationFailure($"events[{i}].recommendationId", $"Recommendation '{id}' was made for another user."));
                }
                else if (records[i].ItemId is not { } item || !items.TryGetValue(item, out var itemId) || !list.Items.Contains(itemId))
                {
                    failures.Add(new ValidationFailure($"events[{i}].recommendationId", $"Recommendation '{id}' did not show item '{records[i].ItemId}'."));
                }
            }
        }

        private async Task<Dictionary<string, long>> ResolveOffersAsync(IReadOnlyList<EventRecord> records, List<ValidationFailure> failures, CancellationToken cancellationToken)
        {
            var wanted = records.Select(r => r.OfferId).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
            if (wanted.Count == 0)
            {
                return [];
            }

            var known = await db.Offers.AsNoTracking().Where(o => wanted.Contains(o.ExternalId))
                .Select(o => new { o.ExternalId, o.Id }).ToDictionaryAsync(o => o.ExternalId, o => o.Id, StringComparer.Ordinal, cancellationToken);
            for (var i = 0; i < records.Count; i++)
            {
                if (records[i].OfferId is { } offer && !known.ContainsKey(offer))
                {
                    failures.Add(new ValidationFailure($"events[{i}].offerId", $"Offer '{offer}' is unknown; use the id of an offer this service quoted."));
                }
            }

            return known;
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/batch", async ([FromBody] Command command, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(command, cancellationToken)))
            .WithName("IngestEvents")
            .WithSummary("Record up to 10,000 views, clicks, carts and purchases")
            .WithDescription("All or nothing: one bad record rejects the batch with errors keyed like events[3].itemId. "
                             + "A replayed eventId is accepted and counted as a duplicate. Unknown users are created; unknown items are refused.")
            .RequireAuthorization(Policies.Shop)
            .WithMetadata(new RequestSizeLimitAttribute(Ingestion.MaxBodyBytes))
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);
}

using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Users;

/// <summary>
/// The right to erasure: removes everything stored about one user and leaves a tombstone so the user's past is never
/// learned from again. Campaign spend is a running total on the campaign, so budgets stay correct without the offers.
/// </summary>
public static partial class EraseUser
{
    public sealed record Command(string Id) : ICommand<Result>;

    /// <param name="UserId">The shop's id of the erased user.</param>
    /// <param name="Texts">Reviews, searches and chat messages removed.</param>
    /// <param name="Events">Views, clicks, carts and purchases removed.</param>
    /// <param name="Offers">Quotes and redemptions removed (money already charged to campaigns stays in their totals).</param>
    /// <param name="Profile">Whether a built profile was removed.</param>
    /// <param name="ErasedAt">When (UTC); data dated up to then is excluded from every later training snapshot.</param>
    public sealed record Result(string UserId, int Texts, int Events, int Offers, bool Profile, DateTime ErasedAt);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Id).ValidExternalId();
    }

    public sealed partial class Handler(DiscountsDbContext db, TimeProvider clock, ILogger<Handler> logger) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            // One transaction: a crash leaves either the user whole or erased with its tombstone, never half of each.
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var userId = await db.Users.Where(u => u.ExternalId == command.Id).Select(u => (long?)u.Id).FirstOrDefaultAsync(cancellationToken)
                         ?? throw new NotFoundException("User", command.Id);

            var offerIds = db.Offers.Where(o => o.UserId == userId).Select(o => o.Id);
            // Events of anyone pointing at these offers keep the event but lose the link.
            await db.Events.Where(e => e.OfferId != null && offerIds.Contains(e.OfferId.Value))
                .ExecuteUpdateAsync(e => e.SetProperty(x => x.OfferId, (long?)null), cancellationToken);
            await LiveVocabulary.ForgetUserAsync(db, userId, cancellationToken);
            var texts = await db.UserTexts.Where(t => t.UserId == userId).ExecuteDeleteAsync(cancellationToken);
            var events = await db.Events.Where(e => e.UserId == userId).ExecuteDeleteAsync(cancellationToken);
            var offers = await db.Offers.Where(o => o.UserId == userId).ExecuteDeleteAsync(cancellationToken);
            var profile = await db.Profiles.Where(p => p.UserId == userId).ExecuteDeleteAsync(cancellationToken) > 0;
            await db.ProfileRefreshRequests.Where(r => r.UserId == userId).ExecuteDeleteAsync(cancellationToken);
            await db.Users.Where(u => u.Id == userId).ExecuteDeleteAsync(cancellationToken);
            db.ErasedUsers.Add(new ErasedUser { ExternalIdSha256 = ErasedUser.HashOf(command.Id), ErasedAt = now });
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            // Counts only: the id itself may be personal data.
            LogErased(logger, texts, events, offers);
            return new Result(command.Id, texts, events, offers, profile, now);
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "Erased a user: {Texts} texts, {Events} events, {Offers} offers")]
        private static partial void LogErased(ILogger logger, int texts, int events, int offers);
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapDelete("/{id}", async (string id, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Command(id), cancellationToken)))
            .WithName("EraseUser")
            .WithSummary("Erase a user: texts, events, profile and offers, and exclude them from future training")
            .WithDescription("Admin only. Campaign spend already charged stays in the campaign's total; trained models are not "
                             + "rewritten but every later training snapshot leaves the user out. A later PUT of the same id starts a new, empty user.")
            .RequireAuthorization(Policies.Admin)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem();
}

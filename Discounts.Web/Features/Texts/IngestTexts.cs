using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Discounts.Web.Features.Profiles;
using Discounts.Web.Infrastructure;
using FluentValidation;
using FluentValidation.Results;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace Discounts.Web.Features.Texts;

public static class IngestTexts
{
    public sealed record Command(IReadOnlyList<TextRecord>? Texts) : ICommand<Result>;

    /// <summary>A review, search query or chat message. It is cleaned and scrubbed of personal data before it is stored.</summary>
    public sealed record TextRecord(string? UserId, TextKind? Kind, string? Text, string? ItemId, int? Rating, DateTime? OccurredAt);

    /// <param name="Accepted">Texts stored.</param>
    /// <param name="Empty">Texts that held nothing once cleaned (only markup or links) and were not stored.</param>
    /// <param name="UsersCreated">Users first seen in this batch, created without consent.</param>
    public sealed record Result(int Accepted, int Empty, int UsersCreated);

    public sealed class TextRecordValidator : AbstractValidator<TextRecord>
    {
        public TextRecordValidator(TimeProvider clock)
        {
            RuleFor(r => r.UserId).ValidExternalId();
            RuleFor(r => r.Kind).NotNull().WithMessage("kind is required (review, search or chat).");
            RuleFor(r => r.Text).NotEmpty().WithMessage("text is required.").MaximumLength(Limits.TextLength);
            RuleFor(r => r.ItemId).MaximumLength(Limits.ExternalIdLength);
            RuleFor(r => r.Rating).InclusiveBetween(1, 5).WithMessage("rating must be between 1 and 5.");
            RuleFor(r => r.Rating).Null().When(r => r.Kind is not TextKind.Review).WithMessage("Only reviews carry a rating.");
            RuleFor(r => r.OccurredAt).ValidEventTime(clock);
        }
    }

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator(TimeProvider clock)
        {
            RuleFor(c => c.Texts).ValidBatch();
            RuleForEach(c => c.Texts).NotNull().WithMessage("A record must not be null.").SetValidator(new TextRecordValidator(clock));
        }
    }

    public sealed class Handler(DiscountsDbContext db, TimeProvider clock, ProfileRefreshScheduler refresh) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var records = command.Texts!;
            var now = clock.GetUtcNow().UtcDateTime;
            var failures = new List<ValidationFailure>();
            var items = await Ingestion.ResolveItemsAsync(db, records.Select(r => r.ItemId).ToList(), "texts", "itemId", failures, cancellationToken);
            Ingestion.ThrowIfAny(failures);

            // Cleaned before anything is stored: raw text with e-mail addresses or card numbers never reaches the database.
            var cleaned = records.Select(r => (Record: r, Text: TextCleaner.Clean(r.Text))).Where(c => c.Text.Length > 0).ToList();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var (users, created) = await Ingestion.EnsureUsersAsync(db, records.Select(r => r.UserId!), now, cancellationToken);
            db.UserTexts.AddRange(cleaned.Select(c => new UserText
            {
                UserId = users[c.Record.UserId!],
                Kind = c.Record.Kind!.Value,
                Text = c.Text.Length > Limits.TextLength ? c.Text[..Limits.TextLength] : c.Text,
                ItemId = c.Record.ItemId is null ? null : items[c.Record.ItemId],
                Rating = c.Record.Rating,
                OccurredAt = Ingestion.ToUtc(c.Record.OccurredAt, now),
            }));
            await ProfileBuilder.QueueAsync(db, cleaned.Select(c => users[c.Record.UserId!]).ToList(), now, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            if (cleaned.Count > 0)
            {
                refresh.RequestRefresh();
            }

            return new Result(cleaned.Count, records.Count - cleaned.Count, created);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/batch", async ([FromBody] Command command, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(command, cancellationToken)))
            .WithName("IngestTexts")
            .WithSummary("Record up to 10,000 reviews, search queries and chat messages")
            .WithDescription("All or nothing: one bad record rejects the batch with errors keyed like texts[3].rating. Texts are cleaned "
                             + "(markup, links, control characters) and e-mail addresses, phone and card numbers replaced by placeholders before storage.")
            .RequireAuthorization(Policies.Shop)
            .WithMetadata(new RequestSizeLimitAttribute(Ingestion.MaxBodyBytes))
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);
}

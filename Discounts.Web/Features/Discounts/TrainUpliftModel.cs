using Discounts.Core.Data;
using Discounts.Core.Discounting;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Hangfire;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Features.Discounts;

/// <summary>
/// Fits the uplift model on the randomised (exploration) offers in the log and swaps it in. Runs as the Hangfire job
/// `train-uplift` (daily, and once after the demo shop is seeded) and on demand for scientists.
/// </summary>
public static partial class TrainUpliftModel
{
    public const string RecurringJobId = "train-uplift";

    public sealed record Command : ICommand<Result>;

    public sealed record Result(string Version, int TrainingRows, int BoughtRows, IReadOnlyList<int> Ladder);

    public sealed record Enqueued(string JobId);

    public sealed class Validator : AbstractValidator<Command>;

    public sealed partial class Handler(
        DiscountsDbContext db,
        UpliftModelStore store,
        IOptions<DiscountingOptions> options,
        TimeProvider clock,
        ILogger<Handler> logger) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var ladder = options.Value.Ladder;
            var history = await UpliftHistory.LoadAsync(db, userIds: null, cancellationToken);
            var logged = await db.Offers.AsNoTracking()
                .Where(o => o.IsExploration && o.Kind == OfferKind.PercentOff)
                .Select(o => new
                {
                    o.Id, o.UserId, o.ItemId, o.Item!.Category, o.ListPriceCents, o.Item.CostCents, o.DiscountPercent, o.CreatedAt, o.ExpiresAt,
                    Bought = db.Events.Any(e => e.Kind == EventKind.Purchase && e.UserId == o.UserId && e.ItemId == o.ItemId
                                                && (e.OfferId == o.Id || (e.OccurredAt >= o.CreatedAt && e.OccurredAt <= o.ExpiresAt))),
                })
                .ToListAsync(cancellationToken);
            var rows = UpliftTraining.Rows(
                logged.Select(o => new UpliftTraining.LoggedOffer(o.Id, o.UserId, o.ItemId, o.Category, o.ListPriceCents, o.CostCents, o.DiscountPercent, o.CreatedAt, o.Bought)),
                history,
                ladder,
                clock.GetUtcNow().UtcDateTime);
            if (rows.Count == 0)
            {
                throw new ConflictException("There are no randomised offers to learn from yet.");
            }

            var version = $"uplift-{clock.GetUtcNow():yyyyMMddHHmmss}";
            var learner = UpliftLearner.Fit(rows, ladder.Length, options.Value.Learner, seed: 17, options.Value.LadderDoses);
            store.Swap(new UpliftModel(learner, ladder, version, rows.Count));
            LogTrained(logger, version, rows.Count);
            return new Result(version, rows.Count, rows.Count(r => r.Outcome), ladder);
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "Uplift model {Version} trained on {Rows} randomised offers")]
        private static partial void LogTrained(ILogger logger, string version, int rows);
    }

    /// <summary>The Hangfire entry point: the job goes through the mediator like any request.</summary>
    public sealed class Job(ISender sender)
    {
        [Queue(Queues.Default)]
        [AutomaticRetry(Attempts = 1)]
        public async Task RunAsync(CancellationToken cancellationToken) => await sender.Send(new Command(), cancellationToken);
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/uplift-model/train", (JobDeduplicator jobs) =>
                TypedResults.Accepted("/hangfire/jobs/enqueued", new Enqueued(jobs.EnqueueOnce(RecurringJobId, client => client.Enqueue<Job>(job => job.RunAsync(CancellationToken.None))))))
            .WithName("TrainUpliftModel")
            .WithSummary("Retrain the uplift model on the randomised offer log")
            .WithDescription("Enqueues the train-uplift job, or joins the one still pending; the new model is swapped in when it finishes.")
            .RequireAuthorization(Policies.Science);
}

/// <summary>The uplift model quotes use now; swapped whole by training, trained on first use when none exists.</summary>
public sealed class UpliftModelStore(IServiceScopeFactory scopes)
{
    private readonly SemaphoreSlim training = new(1, 1);
    private UpliftModel? current;

    public UpliftModel? Current => Volatile.Read(ref current);

    public void Swap(UpliftModel model) => Volatile.Write(ref current, model);

    public async Task<UpliftModel> GetOrTrainAsync(CancellationToken cancellationToken)
    {
        if (Current is { } model)
        {
            return model;
        }

        await training.WaitAsync(cancellationToken);
        try
        {
            if (Current is null)
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<ISender>().Send(new TrainUpliftModel.Command(), cancellationToken);
            }

            return Current!;
        }
        finally
        {
            training.Release();
        }
    }
}

/// <summary>Users' past events (with their items' categories) and texts, the raw material of uplift features.</summary>
public static class UpliftHistory
{
    public static async Task<Dictionary<long, UserHistory>> LoadAsync(DiscountsDbContext db, IReadOnlyCollection<long>? userIds, CancellationToken cancellationToken)
    {
        var events = db.Events.AsNoTracking().Where(e => e.Kind == EventKind.View || e.Kind == EventKind.Purchase || e.Kind == EventKind.OfferShown);
        var texts = db.UserTexts.AsNoTracking();
        if (userIds is not null)
        {
            events = events.Where(e => userIds.Contains(e.UserId));
            texts = texts.Where(t => userIds.Contains(t.UserId));
        }

        var eventRows = await events
            .Select(e => new { e.UserId, e.Kind, e.Item!.Category, e.PriceCents, e.DiscountPercent, e.OccurredAt, e.OfferId })
            .ToListAsync(cancellationToken);
        var textRows = (await texts.Select(t => new { t.UserId, t.Text, t.OccurredAt, t.Kind }).ToListAsync(cancellationToken))
            .ToLookup(t => t.UserId, t => new PastText(t.Text, t.OccurredAt, t.Kind));
        return eventRows.GroupBy(e => e.UserId).ToDictionary(
            g => g.Key,
            g => new UserHistory(
                g.Select(e => new PastEvent(e.Kind, e.Category, e.PriceCents ?? 0, e.DiscountPercent, e.OccurredAt, e.OfferId)).ToList(),
                textRows[g.Key].ToList()));
    }
}

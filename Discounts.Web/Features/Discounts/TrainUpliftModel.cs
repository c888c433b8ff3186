using Discounts.Core.Data;
using Discounts.Core.Discounting;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Discounts.Core.Scoring;
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

    /// <summary>
    /// Learner is the one the log chose (with <c>Selected</c>, by cross-fitted Qini); Shrinkage is λ, 1 for each
    /// user's own predicted lift and 0 for the population's (chosen by cross-fitted doubly robust value; 1 for the language
    /// head). PriceLanguageWords: with the language features, the words the learned price language ranks highest.
    /// </summary>
    public sealed record Result(string Version, int TrainingRows, int BoughtRows, IReadOnlyList<int> Ladder, string Learner, double Shrinkage, IReadOnlyList<string> PriceLanguageWords);

    public sealed record Enqueued(string JobId);

    public sealed class Validator : AbstractValidator<Command>;

    public sealed partial class Handler(
        DiscountsDbContext db,
        UpliftModelStore store,
        TextModelStore textModels,
        IScorer scorer,
        IOptions<DiscountingOptions> options,
        TimeProvider clock,
        ILogger<Handler> logger) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var ladder = options.Value.Ladder;
            var (rows, language) = await UpliftLog.LoadRowsAsync(db, textModels, options.Value.TextFeatures, ladder, clock.GetUtcNow().UtcDateTime, cancellationToken,
                UpliftLog.EmbedderOf(scorer));
            if (rows.Count == 0)
            {
                throw new ConflictException("There are no randomised offers to learn from yet.");
            }

            var version = $"uplift-{clock.GetUtcNow():yyyyMMddHHmmss}";
            var model = UpliftModelTrainer.Train(rows, options.Value, seed: 17, version, language).Model;
            store.Swap(model);
            LogTrained(logger, version, rows.Count, model.Learner.Chosen.Kind, model.Shrinkage?.Lambda ?? 1);
            return new Result(version, rows.Count, rows.Count(r => r.Row.Outcome), ladder, model.Learner.Chosen.ToString(), model.Shrinkage?.Lambda ?? 1, model.Language.Words);
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "Uplift model {Version} trained on {Rows} randomised offers: {Learner} learner, shrinkage {Shrinkage}")]
        private static partial void LogTrained(ILogger logger, string version, int rows, UpliftLearnerKind learner, double shrinkage);
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

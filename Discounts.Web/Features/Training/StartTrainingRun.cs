using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Training.FineTuning;
using Discounts.Training.Scorer;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Hangfire;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Features.Training;

/// <summary>Queues a fine-tuning run of the scorer; at most one run is queued or running at a time.</summary>
public static class StartTrainingRun
{
    /// <summary>Any field left out takes the configured default (Training:Hyperparameters).</summary>
    public sealed record Request(
        int? Epochs = null,
        int? BatchSize = null,
        double? LearningRate = null,
        double? WarmupFraction = null,
        double? WeightDecay = null,
        double? Dropout = null,
        double? MaxGradNorm = null,
        int? MaxSequenceLength = null,
        int? MaxExamplesPerEpoch = null,
        int? SampledNegativesPerPositive = null,
        bool? FreezeEmbeddings = null,
        int? FrozenLayers = null,
        int? ValidationDays = null,
        int? MaxValidationUsers = null,
        int? Seed = null,
        int? LogEverySteps = null,
        bool? ForcePromote = null,
        ScorerKind? Model = null,
        SequenceFitOptions? Sequence = null)
    {
        public FineTuneHyperparameters Over(FineTuneHyperparameters defaults) => defaults with
        {
            Epochs = Epochs ?? defaults.Epochs,
            BatchSize = BatchSize ?? defaults.BatchSize,
            LearningRate = LearningRate ?? defaults.LearningRate,
            WarmupFraction = WarmupFraction ?? defaults.WarmupFraction,
            WeightDecay = WeightDecay ?? defaults.WeightDecay,
            Dropout = Dropout ?? defaults.Dropout,
            MaxGradNorm = MaxGradNorm ?? defaults.MaxGradNorm,
            MaxSequenceLength = MaxSequenceLength ?? defaults.MaxSequenceLength,
            MaxExamplesPerEpoch = MaxExamplesPerEpoch ?? defaults.MaxExamplesPerEpoch,
            SampledNegativesPerPositive = SampledNegativesPerPositive ?? defaults.SampledNegativesPerPositive,
            FreezeEmbeddings = FreezeEmbeddings ?? defaults.FreezeEmbeddings,
            FrozenLayers = FrozenLayers ?? defaults.FrozenLayers,
            ValidationDays = ValidationDays ?? defaults.ValidationDays,
            MaxValidationUsers = MaxValidationUsers ?? defaults.MaxValidationUsers,
            Seed = Seed ?? defaults.Seed,
            LogEverySteps = LogEverySteps ?? defaults.LogEverySteps,
            ForcePromote = ForcePromote ?? defaults.ForcePromote,
            Model = Model ?? defaults.Model,
            Sequence = Sequence ?? defaults.Sequence,
        };
    }

    public sealed record Command(FineTuneHyperparameters Hyperparameters) : ICommand<Result>;

    public sealed record Result(long Id, TrainingRunStatus Status, string JobId);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Hyperparameters.Epochs).InclusiveBetween(1, 50).OverridePropertyName("epochs");
            RuleFor(c => c.Hyperparameters.BatchSize).InclusiveBetween(2, 512).OverridePropertyName("batchSize");
            RuleFor(c => c.Hyperparameters.LearningRate).GreaterThan(0).LessThanOrEqualTo(1).OverridePropertyName("learningRate");
            RuleFor(c => c.Hyperparameters.WarmupFraction).InclusiveBetween(0, 0.5).OverridePropertyName("warmupFraction");
            RuleFor(c => c.Hyperparameters.WeightDecay).InclusiveBetween(0, 1).OverridePropertyName("weightDecay");
            RuleFor(c => c.Hyperparameters.Dropout).InclusiveBetween(0, 0.9).OverridePropertyName("dropout");
            RuleFor(c => c.Hyperparameters.MaxGradNorm).GreaterThan(0).OverridePropertyName("maxGradNorm");
            RuleFor(c => c.Hyperparameters.MaxSequenceLength).InclusiveBetween(8, 512).OverridePropertyName("maxSequenceLength");
            RuleFor(c => c.Hyperparameters.MaxExamplesPerEpoch).InclusiveBetween(1, 1_000_000).OverridePropertyName("maxExamplesPerEpoch");
            RuleFor(c => c.Hyperparameters.SampledNegativesPerPositive).InclusiveBetween(0, 20).OverridePropertyName("sampledNegativesPerPositive");
            RuleFor(c => c.Hyperparameters.FrozenLayers).InclusiveBetween(0, 48).OverridePropertyName("frozenLayers");
            RuleFor(c => c.Hyperparameters.ValidationDays).InclusiveBetween(1, 365).OverridePropertyName("validationDays");
            RuleFor(c => c.Hyperparameters.MaxValidationUsers).InclusiveBetween(1, 100_000).OverridePropertyName("maxValidationUsers");
            RuleFor(c => c.Hyperparameters.LogEverySteps).InclusiveBetween(1, 10_000).OverridePropertyName("logEverySteps");
            RuleFor(c => c.Hyperparameters.Model).IsInEnum().OverridePropertyName("model");
            When(c => c.Hyperparameters.Sequence is not null, () =>
            {
                RuleFor(c => c.Hyperparameters.Sequence!.Epochs).InclusiveBetween(1, 50).OverridePropertyName("sequence.epochs");
                RuleFor(c => c.Hyperparameters.Sequence!.BatchSize).InclusiveBetween(2, 8_192).OverridePropertyName("sequence.batchSize");
                RuleFor(c => c.Hyperparameters.Sequence!.LearningRate).GreaterThan(0).LessThanOrEqualTo(1).OverridePropertyName("sequence.learningRate");
                RuleFor(c => c.Hyperparameters.Sequence!.WeightDecay).InclusiveBetween(0, 100).OverridePropertyName("sequence.weightDecay");
                RuleFor(c => c.Hyperparameters.Sequence!.Dropout).InclusiveBetween(0, 0.9).OverridePropertyName("sequence.dropout");
                RuleFor(c => c.Hyperparameters.Sequence!.UniformNegatives).InclusiveBetween(0, 100_000).OverridePropertyName("sequence.uniformNegatives");
                RuleFor(c => c.Hyperparameters.Sequence!.Members).InclusiveBetween(1, 8).OverridePropertyName("sequence.members");
                RuleFor(c => c.Hyperparameters.Sequence!.MaxMinutes).GreaterThan(0).LessThanOrEqualTo(24 * 60).OverridePropertyName("sequence.maxMinutes");
            });
        }
    }

    public sealed class Handler(DiscountsDbContext db, IBackgroundJobClient jobs, TimeProvider clock) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            // SQLite transactions here begin IMMEDIATE: a second request waits for this one's commit, then sees its run.
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            // On PostgreSQL, nodes taking the same lock do the same: the check below cannot race across nodes.
            await db.LockForTransactionAsync(LockScope.TrainingRunStart, 0, cancellationToken);
            var busy = await db.TrainingRuns.Where(r => r.Status == TrainingRunStatus.Queued || r.Status == TrainingRunStatus.Running)
                .Select(r => (long?)r.Id).FirstOrDefaultAsync(cancellationToken);
            if (busy is { } id) throw new ConflictException($"Training run {id} is already queued or running.");
            var run = new TrainingRun
            {
                Status = TrainingRunStatus.Queued,
                HyperparametersJson = JsonSerializer.Serialize(command.Hyperparameters, FineTuneRunner.Json),
                CreatedAt = clock.GetUtcNow().UtcDateTime,
            };
            db.TrainingRuns.Add(run);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);

            run.JobId = jobs.Enqueue<FineTuneJob>(job => job.RunAsync(run.Id, null, CancellationToken.None));
            await db.SaveChangesAsync(CancellationToken.None);
            return new Result(run.Id, run.Status, run.JobId);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/runs", async (Request? request, IOptions<FineTuneOptions> options, ISender sender, CancellationToken cancellationToken) =>
            {
                var result = await sender.Send(new Command((request ?? new Request()).Over(options.Value.Hyperparameters)), cancellationToken);
                return TypedResults.Accepted($"/api/training/runs/{result.Id}", result);
            })
            .WithName("StartTrainingRun")
            .WithSummary("Queue a fine-tuning run of the scorer")
            .WithDescription("Returns 202 with the run id; 409 while another run is queued or running. Omitted hyperparameters take the configured defaults.")
            .RequireAuthorization(Policies.Science)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
}

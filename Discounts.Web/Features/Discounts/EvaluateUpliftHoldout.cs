using Discounts.Core.Data;
using Discounts.Core.Discounting;
using Discounts.Core.Domain;
using Discounts.Core.Evaluation;
using Discounts.Core.Profiling;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Features.Discounts;

/// <summary>
/// The Qini curve of the uplift learner on held-out randomised offers: fitted, exactly as the train-uplift job fits
/// it, on the older share of the exploration log and scored on the newest share, so the curve shows how well it
/// ranks people it has not seen by how much a discount moves them. Treated means any discount, control none.
/// </summary>
public static class EvaluateUpliftHoldout
{
    private const int MaxCurvePoints = 400;

    public sealed record Query(double HoldoutShare) : IQuery<Result>;

    public sealed record Result(
        int TrainRows, int HoldoutRows, int HoldoutTreated, double QiniCoefficient, double UpliftAuc, double UpliftAt30,
        IReadOnlyList<CurvePoint> Qini, DateTime EvaluatedAt);

    /// <summary>Targeted people (best first) and incremental buyers; Random is the straight line of random targeting.</summary>
    public sealed record CurvePoint(double Targeted, double Model, double Random);

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.HoldoutShare).InclusiveBetween(0.1, 0.9);
    }

    /// <summary>The fit takes seconds; the result only changes with the log, so one is kept per log state.</summary>
    public sealed class ResultCache
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<(double, long, int), Result> results = new();

        public Result? Find((double, long, int) key) => results.GetValueOrDefault(key);

        public void Keep((double, long, int) key, Result result)
        {
            results.Clear();
            results[key] = result;
        }
    }

    public sealed class Handler(DiscountsDbContext db, TextModelStore textModels, ResultCache cache, IOptions<DiscountingOptions> options, TimeProvider clock)
        : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var exploration = UpliftLog.Randomised(db);
            var key = (query.HoldoutShare, await exploration.MaxAsync(o => (long?)o.Id, cancellationToken) ?? 0, await exploration.CountAsync(cancellationToken));
            if (cache.Find(key) is { } cached) return cached;

            var ladder = options.Value.Ladder;
            var now = clock.GetUtcNow().UtcDateTime;
            // No price language here: learned from the whole log it would have seen the held-out offers' outcomes.
            var rows = (await UpliftLog.LoadRowsAsync(db, textModels, options.Value.TextFeatures, ladder, now, cancellationToken)).Rows.Select(r => r.Row).ToList();
            var split = (int)Math.Round(rows.Count * (1 - query.HoldoutShare));
            var train = rows.Take(split).ToList();
            var holdout = rows.Skip(split).ToList();
            if (train.Count == 0 || holdout.Count == 0 || holdout.All(r => r.Arm > 0) || holdout.All(r => r.Arm == 0))
                throw new ConflictException("There are too few randomised offers, treated and untreated, to evaluate the uplift model yet.");

            var learner = UpliftLearner.Fit(train, ladder.Length, options.Value.Learner, seed: 17, options.Value.LadderDoses);
            var probabilities = learner.Predict(holdout.Select(r => r.Features).ToList());
            // One score per person for "any discount": the mean lift over the discounted levels.
            var uplift = probabilities.Select(p => p.Skip(1).Average() - p[0]).ToArray();
            var outcome = holdout.Select(r => r.Outcome).ToArray();
            var treated = holdout.Select(r => r.Arm > 0).ToArray();
            var (x, y) = UpliftMetrics.QiniCurve(outcome, uplift, treated);
            var result = new Result(
                train.Count, holdout.Count, treated.Count(t => t),
                Math.Round(UpliftMetrics.QiniAuc(outcome, uplift, treated), 4),
                Math.Round(UpliftMetrics.UpliftAuc(outcome, uplift, treated), 4),
                Math.Round(UpliftMetrics.UpliftAtK(outcome, uplift, treated, 0.3), 4),
                Thin(x, y), now);
            cache.Keep(key, result);
            return result;
        }

        /// <summary>At most a few hundred points reach the browser: plenty for a curve, and the start and end are kept.</summary>
        private static List<CurvePoint> Thin(double[] x, double[] y)
        {
            var last = x.Length - 1;
            var points = new List<CurvePoint> { new(0, 0, 0) };
            if (last < 0) return points;
            var stride = Math.Max(1, (x.Length + MaxCurvePoints - 1) / MaxCurvePoints);
            for (var i = 0; i <= last; i += stride)
            {
                points.Add(new CurvePoint(x[i], Math.Round(y[i], 3), Math.Round(y[last] * x[i] / x[last], 3)));
            }

            if ((last % stride) != 0) points.Add(new CurvePoint(x[last], Math.Round(y[last], 3), Math.Round(y[last], 3)));
            return points;
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/uplift-evaluation", async (double? holdoutShare, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(holdoutShare ?? 0.3), cancellationToken)))
            .WithName("EvaluateUpliftHoldout")
            .WithSummary("Qini curve and coefficient of the uplift learner on the newest randomised offers")
            .WithDescription("Fits the learner on the older randomised offers and scores the newest `holdoutShare` (default 0.3) of them; 409 while there are too few.")
            .RequireAuthorization(Policies.Read)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
}

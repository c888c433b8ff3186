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
/// Off-policy evaluation: what the current uplift policy, no discounts, and 10 % for everyone would have earned per
/// quote on the logged quotes, estimated with IPS, self-normalised IPS and doubly robust estimators from the logged
/// propensities. Rewards are the margin earned in cents (final price − cost when bought, else 0).
/// </summary>
public static class EvaluateDiscountPolicy
{
    public sealed record Query(int Limit) : IQuery<Result>;

    public sealed record Result(int Decisions, double LoggedMeanRewardCents, string ModelVersion, IReadOnlyList<PolicyValue> Policies);

    public sealed record PolicyValue(string Policy, double IpsCents, double SelfNormalisedIpsCents, double DoublyRobustCents, int MatchedDecisions, double EffectiveSampleSize);

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.Limit).InclusiveBetween(1, 200_000);
    }

    /// <summary>
    /// The estimate reads the whole settled log and scores it, seconds of work; it only changes when the log or the
    /// model does, so it is kept per (limit, model version, newest offer, offer count).
    /// </summary>
    public sealed class ResultCache
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<(int, string, long, int), Result> results = new();

        public Result? Find((int, string, long, int) key) => results.GetValueOrDefault(key);

        public void Keep((int, string, long, int) key, Result result)
        {
            results.Clear();
            results[key] = result;
        }
    }

    public sealed class Handler(DiscountsDbContext db, UpliftModelStore models, TextModelStore textModels, ResultCache cache, IOptions<DiscountingOptions> options, TimeProvider clock)
        : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var model = await models.GetOrTrainAsync(cancellationToken);
            var newestOffer = await db.Offers.MaxAsync(o => (long?)o.Id, cancellationToken) ?? 0;
            var key = (query.Limit, model.Version, newestOffer, await db.Offers.CountAsync(cancellationToken));
            if (cache.Find(key) is { } cached)
            {
                return cached;
            }

            var result = await EvaluateAsync(query, model, cancellationToken);
            cache.Keep(key, result);
            return result;
        }

        private async Task<Result> EvaluateAsync(Query query, UpliftModel model, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var ladder = options.Value.Ladder;
            var logged = await db.Offers.AsNoTracking()
                .Where(o => o.Kind == OfferKind.PercentOff && o.Propensity > 0 && ladder.Contains(o.DiscountPercent) && (o.ExpiresAt <= now || o.Status == OfferStatus.Redeemed))
                .OrderByDescending(o => o.Id)
                .Take(query.Limit)
                .Select(o => new
                {
                    o.Id, o.UserId, o.ItemId, o.Item!.Category, o.ListPriceCents, o.Item.CostCents, o.FinalPriceCents, o.DiscountPercent, o.Propensity,
                    o.CreatedAt, o.ScorerProbability,
                    o.User!.ConsentPersonalisation,
                    Bought = db.Events.Any(e => e.Kind == EventKind.Purchase && e.UserId == o.UserId && e.ItemId == o.ItemId
                                                && (e.OfferId == o.Id || (e.OccurredAt >= o.CreatedAt && e.OccurredAt <= o.ExpiresAt))),
                })
                .ToListAsync(cancellationToken);
            var history = await UpliftHistory.LoadAsync(db, logged.Select(o => o.UserId).Distinct().ToList(), cancellationToken);
            var text = model.TextFeatures ? await UpliftLog.TextMatcherAsync(db, textModels, logged.Select(o => o.ItemId).Distinct().ToList(), model.Language, cancellationToken) : TextMatcher.None;
            // The features the model was trained on, read the same way: see UpliftTraining.Features.
            var features = logged.Select(o => UpliftTraining.Features(
                new UpliftTraining.LoggedOffer(o.Id, o.UserId, o.ItemId, o.Category, o.ListPriceCents, o.CostCents, o.DiscountPercent, o.CreatedAt, Bought: false, o.ScorerProbability),
                history.GetValueOrDefault(o.UserId) ?? UserHistory.Empty, now, text)).ToList();
            var probabilities = model.PurchaseProbabilities(features);

            var log = logged.Select((o, i) => new LoggedDecision(
                Array.IndexOf(ladder, o.DiscountPercent),
                o.Propensity,
                o.Bought ? o.FinalPriceCents - o.CostCents : 0,
                ladder.Select((percent, level) => probabilities[i][level] * (DiscountPolicy.FinalPrice(o.ListPriceCents, percent) - o.CostCents)).ToArray())).ToList();
            var greedy = new DiscountPolicy(options.Value);
            var greedyActions = logged.Select((o, i) => Array.IndexOf(ladder, greedy.Decide(
                new PolicyInput(o.ListPriceCents, o.CostCents, probabilities[i], o.ConsentPersonalisation, int.MaxValue, BudgetLeftCents: null), explorer: null).Percent)).ToArray();
            var tenPercent = Array.IndexOf(ladder, 10);

            var policies = new List<PolicyValue> { Value("uplift policy", OffPolicy.Estimate(log, i => greedyActions[i])), Value("no discounts", OffPolicy.Estimate(log, _ => 0)) };
            if (tenPercent > 0)
            {
                policies.Add(Value("10% for everyone", OffPolicy.Estimate(log, _ => tenPercent)));
            }

            return new Result(log.Count, log.Count == 0 ? 0 : log.Average(d => d.Reward), model.Version, policies);
        }

        private static PolicyValue Value(string name, OffPolicyEstimate estimate) =>
            new(name, Math.Round(estimate.Ips, 1), Math.Round(estimate.SelfNormalisedIps, 1), Math.Round(estimate.DoublyRobust, 1), estimate.Matched, Math.Round(estimate.EffectiveSampleSize, 1));
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/policy-evaluation", async (int? limit, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(limit ?? 20_000), cancellationToken)))
            .WithName("EvaluateDiscountPolicy")
            .WithSummary("Estimate what candidate discount policies would have earned on the logged quotes")
            .WithDescription("IPS, self-normalised IPS and doubly robust estimates, in cents of margin per quote, over the most recent settled quotes (limit, default 20 000).")
            .RequireAuthorization(Policies.Read)
            .ProducesValidationProblem();
}

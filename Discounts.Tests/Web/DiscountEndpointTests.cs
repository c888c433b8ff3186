using System.Net;
using System.Net.Http.Json;
using Discounts.Core.Data;
using Discounts.Core.Demo;
using Discounts.Core.Discounting;
using Discounts.Core.Domain;
using Discounts.Core.Scoring;
using Discounts.Web.Features.Discounts;
using Discounts.Web.Infrastructure;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Discounts.Tests.Web;

public sealed class DiscountEndpointTests
{
    [Test]
    public async Task QuoteDiscount_WhenDemoUserAsks_StoresOneExplainedQuotePerItemWithinGuardrails()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var itemIds = Enumerable.Range(1, 12).Select(i => $"sku-{i:D6}").ToList();

        var response = await client.PostAsJsonAsync("/api/discounts/quotes", new { userId = "user-00042", itemIds });
        var result = await response.Content.ReadFromJsonAsync<QuoteDiscount.Result>(TestJson.Options);

        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var offerIds = result!.Quotes.Select(q => q.OfferId).ToList();
        var stored = await db.Offers.Include(o => o.Item).Where(o => offerIds.Contains(o.ExternalId)).ToListAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(result.Quotes.Select(q => q.ItemId), Is.EqualTo(itemIds));
            Assert.That(stored, Has.Count.EqualTo(12));
            Assert.That(stored, Has.All.Matches<Offer>(o => o.FinalPriceCents >= Math.Ceiling(o.Item!.CostCents * 1.10)));
            Assert.That(stored, Has.All.Matches<Offer>(o => o.DiscountPercent <= 20 && o.Propensity is > 0 and <= 1));
            Assert.That(result.Quotes, Has.All.Matches<DiscountQuote>(q => q.Reason.Contains("Profile:") && q.ModelVersion.StartsWith("uplift-")));
            Assert.That(result.Quotes, Has.All.Matches<DiscountQuote>(q => q.ExpiresAt > DateTime.UtcNow));
        });
    }

    [Test]
    public async Task QuoteDiscount_WhenAScorerServesTheUser_StoresItsProbabilityAndVersionOnEachOffer()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var scorer = TestHost.Factory.Services.GetRequiredService<IScorer>();
        for (var waited = 0; scorer.ActiveVersion is null && waited < 1_800; waited++)
        {
            await Task.Delay(100);
        }

        await TestHost.WaitForProfileAsync(client, "user-00077");
        var itemIds = new[] { "sku-000011", "sku-000012", "sku-000013" };

        // The user's vector is embedded off the request: quotes go without p(buy) until it is ready, then carry it.
        HttpResponseMessage response;
        QuoteDiscount.Result result;
        var withoutProbability = new List<QuoteDiscount.Result>();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            response = await client.PostAsJsonAsync("/api/discounts/quotes", new { userId = "user-00077", itemIds });
            result = (await response.Content.ReadFromJsonAsync<QuoteDiscount.Result>(TestJson.Options))!;
            if (result.Quotes.All(q => q.ScorerProbability is not null) || DateTime.UtcNow > deadline) break;
            withoutProbability.Add(result);
            await Task.Delay(100);
        }

        var offerIds = result.Quotes.Select(q => q.OfferId).ToList();
        var stored = await TestHost.ReadAsync(db => db.Offers.Include(o => o.Item).Where(o => offerIds.Contains(o.ExternalId)).OrderBy(o => o.Item!.ExternalId).ToListAsync());
        var version = scorer.ActiveVersion!;
        // What the serving scorer says for the same user and items, computed here independently of the quote.
        var profileText = await TestHost.ReadAsync(db => db.Profiles.Where(p => p.User!.ExternalId == "user-00077").Select(p => p.ProfileText).SingleAsync());
        var vector = scorer.EmbedUsers([ScorerUser.OfText(profileText)]).Vectors[0];
        var expected = scorer.ScoreUserVector(version, vector, stored.Select(o => o.ItemId).ToList())!.Probabilities;
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(stored, Has.Count.EqualTo(3));
            Assert.That(stored.Select(o => o.ScorerVersion), Has.All.EqualTo(version.Name));
            Assert.That(stored.Select(o => o.ScorerProbability!.Value), Is.EqualTo(expected.Select(p => (double)p)).Within(1e-5));
            Assert.That(result.Quotes.OrderBy(q => q.ItemId).Select(q => q.ScorerProbability), Is.EqualTo(stored.Select(o => o.ScorerProbability)));
            Assert.That(withoutProbability.SelectMany(r => r.Quotes), Has.All.Matches<DiscountQuote>(q => q.ScorerProbability == null && q.ScorerVersion == null),
                "a quote made before the vector was ready logs neither");
        });
    }

    [Test]
    public async Task UpliftLog_WhenAnOfferLoggedAScorerProbability_TrainsOnTheLoggedValue()
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var textModels = scope.ServiceProvider.GetRequiredService<Discounts.Core.Profiling.TextModelStore>();
        var offer = await UpliftLog.Randomised(db).Where(o => o.ScorerProbability == null).OrderBy(o => o.Id).FirstAsync();
        // A value no scorer would produce for this pair: if training recomputed p(buy), the row would not carry it.
        const double Logged = 0.4242;
        await db.Offers.Where(o => o.Id == offer.Id).ExecuteUpdateAsync(o => o.SetProperty(x => x.ScorerProbability, Logged).SetProperty(x => x.ScorerVersion, "logged-test"));
        try
        {
            var rows = (await UpliftLog.LoadRowsAsync(db, textModels, textFeatures: false, new DiscountingOptions().Ladder, DateTime.UtcNow, CancellationToken.None)).Rows;
            var flagged = rows.Where(r => r.Row.Features[^2] == 1).ToList();
            Assert.Multiple(() =>
            {
                Assert.That(flagged.Where(r => r.Row.Features[^1] == (float)Logged).ToList(), Has.Count.EqualTo(1));
                Assert.That(rows.Count(r => r.Row.Features[^2] == 0 && r.Row.Features[^1] == 0), Is.GreaterThan(rows.Count / 2), "unlogged offers: flag and value 0");
            });
        }
        finally
        {
            await db.Offers.Where(o => o.Id == offer.Id).ExecuteUpdateAsync(o => o.SetProperty(x => x.ScorerProbability, (double?)null).SetProperty(x => x.ScorerVersion, (string?)null));
        }
    }

    [Test]
    public async Task UpliftLog_WhenTextFeaturesAreOnAndAReviewFollowsAnOffer_ThatOffersRowIsUnchanged()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        // The first profile build fits the shop's text model.
        await TestHost.WaitForProfileAsync(client, "user-00005");
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var textModels = scope.ServiceProvider.GetRequiredService<Discounts.Core.Profiling.TextModelStore>();
        var ladder = new DiscountingOptions().Ladder;
        var newest = await UpliftLog.Randomised(db).OrderByDescending(o => o.CreatedAt).ThenByDescending(o => o.Id).Include(o => o.Item).FirstAsync();

        async Task<float[]> NewestRowTextFeatures()
        {
            var rows = (await UpliftLog.LoadRowsAsync(db, textModels, textFeatures: true, ladder, DateTime.UtcNow.AddDays(1), CancellationToken.None)).Rows;
            Assert.That(rows.Count(r => r.Row.Features[^4] > 0), Is.GreaterThan(rows.Count / 2), "rows with a topic similarity");
            return rows[^1].Row.Features[^4..^2];
        }

        async Task<float[]> WithText(DateTime at)
        {
            var text = new UserText { UserId = newest.UserId, Kind = TextKind.Review, Text = $"Love this {newest.Item!.Title}. {newest.Item.Description}", ItemId = newest.ItemId, Rating = 5, OccurredAt = at };
            db.UserTexts.Add(text);
            await db.SaveChangesAsync();
            try
            {
                return await NewestRowTextFeatures();
            }
            finally
            {
                db.UserTexts.Remove(text);
                await db.SaveChangesAsync();
            }
        }

        var before = await NewestRowTextFeatures();
        var reviewedAfter = await WithText(newest.CreatedAt.AddMinutes(30));
        var reviewedBefore = await WithText(newest.CreatedAt.AddMinutes(-30));
        Assert.Multiple(() =>
        {
            Assert.That(reviewedAfter, Is.EqualTo(before), "a review written after the offer");
            Assert.That(reviewedBefore, Is.Not.EqualTo(before), "the same review written before it");
        });
    }

    [Test]
    public async Task TrainUpliftModel_WhenRunOnDemoHistory_LearnsFromEveryRandomisedOfferAndSwapsIn()
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var trained = await scope.ServiceProvider.GetRequiredService<ISender>().Send(new TrainUpliftModel.Command());
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var randomised = await db.Offers.CountAsync(o => o.IsExploration);

        Assert.That(trained.TrainingRows, Is.EqualTo(randomised).And.GreaterThan(5_000));
        Assert.That(trained.BoughtRows, Is.InRange(trained.TrainingRows / 20, trained.TrainingRows / 2));
        Assert.That(scope.ServiceProvider.GetRequiredService<UpliftModelStore>().Current!.Version, Is.EqualTo(trained.Version));
        // The default learner is chosen among the candidates by the log, and λ from the shrinkage grid.
        Assert.That(UpliftLearnerOptions.Candidates.Select(c => c.ToString()), Does.Contain(trained.Learner));
        Assert.That(LiftShrinkage.Grid, Does.Contain(trained.Shrinkage));
    }

    [Test]
    public async Task UpliftModel_WhenTrainedOnDemoHistory_PredictsMoreUpliftForPriceSensitiveUsers()
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<ISender>().Send(new TrainUpliftModel.Command());
        var model = scope.ServiceProvider.GetRequiredService<UpliftModelStore>().Current!;
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var shop = DemoShopGenerator.Generate(new DemoShopOptions(), DateTime.UtcNow.Date);
        var history = await UpliftHistory.LoadAsync(db, null, CancellationToken.None);
        var items = shop.Items.ToDictionary(i => i.Id);

        // Each user is scored on the items they viewed, at today's date: the situation a quote is made in.
        double MeanUplift(Func<double, bool> sensitivity)
        {
            var features = shop.Users.Zip(shop.Tastes).Where(p => sensitivity(p.Second.PriceSensitivity)).SelectMany(p =>
            {
                var past = history.GetValueOrDefault(p.First.Id) ?? UserHistory.Empty;
                var viewed = shop.Events.Where(e => e.UserId == p.First.Id && e.Kind == EventKind.View).Select(e => items[e.ItemId]).Distinct().Take(5);
                return viewed.Select(item => UpliftFeatures.Build(past.SignalsFor(item.Category, DateTime.UtcNow), item.PriceCents, item.CostCents, default, scorerProbability: null));
            }).ToList();
            var predictions = model.PurchaseProbabilities(features);
            TestContext.Out.WriteLine($"{features.Count} pairs: p(0%) {predictions.Average(p => p[0]):F3}, p(20%) {predictions.Average(p => p[^1]):F3}");
            return predictions.Average(p => p[^1] - p[0]);
        }

        var sensitive = MeanUplift(s => s > 0.75);
        var insensitive = MeanUplift(s => s < 0.25);
        // The features only see behaviour (offer responses, prices paid), never the hidden sensitivity itself.
        Assert.That(sensitive, Is.GreaterThan(insensitive * 1.1).And.GreaterThan(insensitive + 0.01), $"uplift at 20 %: sensitive {sensitive:F3}, insensitive {insensitive:F3}");
    }

    [Test]
    public async Task EvaluateDiscountPolicy_WhenAnalystAsks_EstimatesEveryCandidateOnTheLog()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        var result = await client.GetFromJsonAsync<EvaluateDiscountPolicy.Result>("/api/discounts/policy-evaluation", TestJson.Options);
        foreach (var policy in result!.Policies)
        {
            TestContext.Out.WriteLine($"{policy.Policy}: IPS {policy.IpsCents}, SNIPS {policy.SelfNormalisedIpsCents}, DR {policy.DoublyRobustCents}, matched {policy.MatchedDecisions}");
        }

        var noDiscounts = result.Policies.Single(p => p.Policy == "no discounts");
        Assert.Multiple(() =>
        {
            Assert.That(result.Decisions, Is.GreaterThan(5_000));
            Assert.That(result.Policies.Select(p => p.Policy), Is.EquivalentTo(new[] { "uplift policy", "no discounts", "10% for everyone" }));
            // On the uniform log, "no discounts" matched about a fifth of the decisions, each weighted by 5.
            Assert.That(noDiscounts.MatchedDecisions, Is.InRange(result.Decisions / 7, result.Decisions / 3));
            Assert.That(result.Policies, Has.All.Matches<EvaluateDiscountPolicy.PolicyValue>(p => double.IsFinite(p.DoublyRobustCents) && p.SelfNormalisedIpsCents > 0));
        });
    }

    [TestCase("/api/discounts/policy-evaluation?limit=0", "limit")]
    [TestCase("/api/discounts/audit?by=gender", "by")]
    [TestCase("/api/discounts/audit?since=yesterday", "since")]
    public async Task DiscountReads_WhenQueryIsBad_Return400NamingTheField(string url, string field)
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        await (await client.GetAsync(url)).AssertFieldErrorAsync(field);
    }

    [Test]
    public async Task AuditQuotes_WhenGroupedByPriceBand_CoversEveryQuoteSinceTheStart()
    {
        using var client = TestHost.Client(ApiRole.Analyst);
        var result = await client.GetFromJsonAsync<AuditQuotes.Result>("/api/discounts/audit?by=priceBand&since=2000-01-01T00:00:00Z", TestJson.Options);
        Assert.That(result!.Segments.Sum(s => s.Quotes), Is.EqualTo(result.Quotes).And.GreaterThan(5_000));
        Assert.That(result.Segments.Select(s => s.Segment), Does.Contain("10 to 50"));
        Assert.That(result.Segments, Has.All.Matches<AuditQuotes.SegmentRow>(s => s.DiscountedShare is >= 0 and <= 1 && s.MeanPercent <= 20));
    }

    [Test]
    public async Task QuoteDiscount_WhenUserIsUnknown_Returns404Problem()
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var response = await client.PostAsJsonAsync("/api/discounts/quotes", new { userId = "nobody-at-all", itemIds = new[] { "sku-000001" } });
        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [TestCase("""{"userId":"user-00001","itemIds":["sku-000001","no-such-item"]}""", "itemIds[1]")]
    [TestCase("""{"userId":"user-00001","itemIds":[]}""", "itemIds")]
    [TestCase("""{"userId":"user-00001","itemIds":null}""", "itemIds")]
    [TestCase("""{"userId":null,"itemIds":[null]}""", "userId")]
    [TestCase("""{"userId":"user-00001","itemIds":["sku-000001","sku-000001"]}""", "itemIds")]
    [TestCase("""{"userId":"","itemIds":["sku-000001"]}""", "userId")]
    [TestCase("""{"userId":"user-00001","itemIds":["sku-000001"],"campaignId":"nope"}""", "campaignId")]
    [TestCase("""{"userId":"user-00001","itemIds":"sku-000001"}""", "itemIds")]
    [TestCase("""{"userId":"user-00001","itemIds":[1,2""", "itemIds[0]")]
    public async Task QuoteDiscount_WhenBodyIsBad_Returns400NamingTheField(string json, string field)
    {
        using var client = TestHost.Client(ApiRole.Shop);
        var response = await client.PostAsync("/api/discounts/quotes", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        await response.AssertFieldErrorAsync(field);
    }

    [Test]
    public async Task RedeemOffer_WhenRedeemedTwice_ChargesTheBudgetOnce()
    {
        var (campaign, offers) = await ArrangeOffersAsync(budgetCents: 10_000, count: 1);
        using var client = TestHost.Client(ApiRole.Shop);

        var first = await client.PostAsJsonAsync($"/api/discounts/offers/{offers[0].Offer}/redeem", new { userId = offers[0].User });
        var second = await client.PostAsJsonAsync($"/api/discounts/offers/{offers[0].Offer}/redeem", new { userId = offers[0].User });
        var again = await second.Content.ReadFromJsonAsync<RedeemOffer.Result>(TestJson.Options);

        Assert.Multiple(async () =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(again!.AlreadyRedeemed, Is.True);
            Assert.That(await SpentAsync(campaign), Is.EqualTo(1_000));
        });
    }

    [Test]
    public async Task RedeemOffer_WhenManyRedeemConcurrentlyAgainstASmallBudget_NeverOverspends()
    {
        // Each discount is 1 000 cents; the budget funds exactly three of the twenty.
        var (campaign, offers) = await ArrangeOffersAsync(budgetCents: 3_500, count: 20);
        var responses = await Task.WhenAll(offers.Select(async o =>
        {
            using var client = TestHost.Client(ApiRole.Shop);
            return await client.PostAsJsonAsync($"/api/discounts/offers/{o.Offer}/redeem", new { userId = o.User });
        }));

        Assert.Multiple(async () =>
        {
            Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(3));
            Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Conflict), Is.EqualTo(17));
            Assert.That(await SpentAsync(campaign), Is.EqualTo(3_000));
        });
    }

    [Test]
    public async Task RedeemOffer_WhenExpiredForeignOrUnknown_RefusesWithClearProblems()
    {
        var (_, offers) = await ArrangeOffersAsync(budgetCents: 10_000, count: 2, expired: [true, false]);
        using var client = TestHost.Client(ApiRole.Shop);

        await (await client.PostAsJsonAsync($"/api/discounts/offers/{offers[0].Offer}/redeem", new { userId = offers[0].User }))
            .AssertProblemAsync(HttpStatusCode.Gone);
        await (await client.PostAsJsonAsync($"/api/discounts/offers/{offers[1].Offer}/redeem", new { userId = "user-00999" }))
            .AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await client.PostAsJsonAsync("/api/discounts/offers/off_unknown/redeem", new { userId = offers[1].User }))
            .AssertProblemAsync(HttpStatusCode.NotFound);
        await (await client.PostAsJsonAsync($"/api/discounts/offers/{offers[1].Offer}/redeem", new { userId = "" }))
            .AssertFieldErrorAsync("userId");
    }

    [Test]
    public async Task RedeemOffer_WhenOfferIsACoupon_ChargesTheCouponAmount()
    {
        var (campaign, offers) = await ArrangeOffersAsync(budgetCents: 10_000, count: 1, coupon: true);
        using var client = TestHost.Client(ApiRole.Shop);

        var response = await client.PostAsJsonAsync($"/api/discounts/offers/{offers[0].Offer}/redeem", new { userId = offers[0].User });
        var result = await response.Content.ReadFromJsonAsync<RedeemOffer.Result>(TestJson.Options);

        Assert.That(result!.DiscountCents, Is.EqualTo(1_500));
        Assert.That(await SpentAsync(campaign), Is.EqualTo(1_500));
    }

    private static long nextArrangement;

    /// <summary>A fresh campaign and one 10 % offer on a 10 000-cent price per distinct demo user, so caps do not interfere.</summary>
    private static async Task<(long Campaign, List<(string Offer, string User)> Offers)> ArrangeOffersAsync(long budgetCents, int count, bool[]? expired = null, bool coupon = false)
    {
        var arrangement = Interlocked.Increment(ref nextArrangement);
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        var campaign = new Campaign { ExternalId = $"test-{Guid.NewGuid():N}", Name = "test", BudgetCents = budgetCents, StartsAt = DateTime.UtcNow.AddDays(-1), IsActive = true };
        db.Campaigns.Add(campaign);
        var users = await db.Users.OrderBy(u => u.Id).Skip((int)(600 + arrangement * 25)).Take(count).ToListAsync();
        var item = await db.Items.OrderBy(i => i.Id).FirstAsync();
        var offers = users.Select((user, i) => new Offer
        {
            ExternalId = $"off_test_{Guid.NewGuid():N}",
            UserId = user.Id,
            ItemId = item.Id,
            Campaign = campaign,
            Kind = coupon ? OfferKind.FixedAmountCoupon : OfferKind.PercentOff,
            DiscountPercent = coupon ? 5 : 10,
            AmountOffCents = coupon ? 1_500 : 0,
            MinimumBasketCents = coupon ? 30_000 : 0,
            ListPriceCents = 10_000,
            FinalPriceCents = coupon ? 10_000 : 9_000,
            Propensity = 1,
            Status = OfferStatus.Quoted,
            CreatedAt = DateTime.UtcNow,
            ExpiresAt = expired?[i] == true ? DateTime.UtcNow.AddMinutes(-1) : DateTime.UtcNow.AddHours(1),
        }).ToList();
        db.Offers.AddRange(offers);
        await db.SaveChangesAsync();
        return (campaign.Id, offers.Zip(users, (o, u) => (o.ExternalId, u.ExternalId)).ToList());
    }

    private static async Task<long> SpentAsync(long campaignId)
    {
        await using var scope = TestHost.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DiscountsDbContext>();
        return (await db.Campaigns.AsNoTracking().SingleAsync(c => c.Id == campaignId)).SpentCents;
    }
}

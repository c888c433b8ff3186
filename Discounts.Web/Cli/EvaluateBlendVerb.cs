using System.Diagnostics;
using System.Text.Json;
using Discounts.Core.Demo;
using Discounts.Core.Domain;
using Discounts.Core.Profiling;
using Discounts.Core.Recommending;
using Discounts.Web.Features.Recommendations;

namespace Discounts.Web.Cli;

/// <summary>
/// `evaluate-blend [--seed N] [--users 1000] [--items 2000]`: generates a demo shop in memory and runs the
/// recommendation blend fit on it exactly as the `fit-recommendation-blend` job does (time split, profiles rebuilt
/// from data before the cut-off, model selection, held-out half), but without a scorer, so the scorer and embedding
/// features are 0. The text model is fitted on texts written before the cut-off only. Prints the fit report as one
/// JSON line on stdout; progress goes to stderr.
/// </summary>
public static class EvaluateBlendVerb
{
    /// <summary>A fixed anchor, so one seed always produces the same shop.</summary>
    public static readonly DateTime Anchor = new(2026, 11, 28, 0, 0, 0, DateTimeKind.Utc);

    public static int Run(IReadOnlyList<string> args)
    {
        var options = CliArguments.Parse(args, "seed", "users", "items");
        var defaults = new DemoShopOptions();
        var shop = new DemoShopOptions
        {
            Seed = options.Int("seed", defaults.Seed, 0, int.MaxValue),
            UserCount = options.Int("users", defaults.UserCount, 50, 100_000),
            ItemCount = options.Int("items", defaults.ItemCount, 100, 1_000_000),
        };
        var started = Stopwatch.GetTimestamp();
        var (model, report) = Evaluate(shop, new ProfilingOptions().ToModelOptions(), Console.Error.WriteLine);
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["seed"] = shop.Seed,
            ["users"] = shop.UserCount,
            ["items"] = shop.ItemCount,
            ["report"] = report,
            ["weights"] = model.Named().ToDictionary(p => p.Key, p => Math.Round(p.Value, 3)),
            ["seconds"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 1),
        }, JsonSerializerOptions.Web));
        return 0;
    }

    /// <summary>The job's fit on a generated shop, without a scorer.</summary>
    public static (BlendModel Model, BlendFitReport Report) Evaluate(DemoShopOptions shopOptions, TextModelOptions textOptions, Action<string> progress)
    {
        var shop = DemoShopGenerator.Generate(shopOptions, Anchor);
        var options = new RecommendationOptions();
        EventKind[] interestKinds = [EventKind.View, EventKind.Click, EventKind.Cart, EventKind.Purchase];
        var items = shop.Items.Select(i => new CatalogueRow(i.Id, i.ExternalId, i.Title, i.Description, i.Category, i.Brand, i.CreatedAt)).ToList();
        var events = shop.Events.Where(e => interestKinds.Contains(e.Kind)).Select(e => new ActivityRow(e.UserId, e.ItemId, e.Kind, e.OccurredAt)).ToList();
        var cutoff = events.Max(e => e.OccurredAt).AddDays(-options.ValidationDays);
        var index = CatalogueIndex.Build(items, events, cutoff, options);
        var validationUsers = FitRecommendationBlend.ValidationUsers(events, cutoff, options.MaxValidationUsers);
        progress($"seed {shopOptions.Seed}: {items.Count} items, {events.Count} events, {validationUsers.Count} validation users, cut-off {cutoff:yyyy-MM-dd}");

        var earlierTexts = shop.Texts.Where(t => t.OccurredAt <= cutoff).ToList();
        var textModel = TextProfileModel.Fit(earlierTexts.Select(t => (IReadOnlyList<string>)Tokenizer.Tokenize(t.Text)).ToList(), textOptions, cutoff);
        var categories = shop.Items.ToDictionary(i => i.Id, i => i.Category);
        var exploration = shop.Offers.ToDictionary(o => o.Id, o => o.IsExploration);
        var texts = earlierTexts.ToLookup(t => t.UserId);
        var behaviour = shop.Events.Where(e => e.OccurredAt <= cutoff).ToLookup(e => e.UserId, e => new BehaviourEvent(
            e.Kind, categories[e.ItemId], e.PriceCents, e.DiscountPercent, e.OfferId, e.OfferId is { } offer && exploration[offer], e.OccurredAt));
        var activity = validationUsers.Select(u => new UserActivity(u, texts[u].ToList(), behaviour[u].ToList())).ToList();

        var groups = FitRecommendationBlend.BuildGroups(index, events, cutoff, activity, textModel, scorer: null, options.CandidatesPerSource);
        progress($"seed {shopOptions.Seed}: {groups.Sum(g => g.Labels.Count)} candidates, {groups.Sum(g => g.Labels.Count(l => l))} positives; fitting");
        return LogisticBlendFitter.Fit("blend-evaluation", "none", groups);
    }
}

using System.Diagnostics;
using Discounts.Core.Data;
using Discounts.Core.Evaluation;
using Discounts.Core.Profiling;

namespace Discounts.Tests.Core.Profiling;

/// <summary>
/// Real review text (Amazon 2018 "All Beauty" 5-core, de-duplicated): the fitted topics are coherent and distinct, and
/// each user's keywords come from their own reviews. Skipped when ../shared/data is not beside the repository.
/// </summary>
public sealed class RealReviewProfileTests
{
    private const int TopicCount = 10;
    private const int TopWords = 10;

    private static readonly Lazy<Fitted> Model = new(Fit);

    [Test]
    public void Fit_WhenRealReviews_TopicsUseMostlyDistinctTopWords()
    {
        var topics = Model.Value.Model.Topics.Select(t => t.TopWords.Take(TopWords).Select(w => w.Term).ToHashSet()).ToList();
        var overlaps = new List<double>();
        for (var a = 0; a < topics.Count; a++)
        {
            for (var b = a + 1; b < topics.Count; b++)
            {
                overlaps.Add(topics[a].Intersect(topics[b]).Count() / (double)topics[a].Union(topics[b]).Count());
            }
        }

        var distinctWords = topics.SelectMany(t => t).Distinct().Count();
        TestContext.Out.WriteLine($"mean pairwise Jaccard {overlaps.Average():F3}, distinct top words {distinctWords} of {TopicCount * TopWords}");
        foreach (var topic in Model.Value.Model.Topics)
        {
            TestContext.Out.WriteLine($"topic {topic.Id}: {string.Join(' ', topic.TopWords.Take(TopWords).Select(w => w.Term))}");
        }

        Assert.That(overlaps.Average(), Is.LessThan(0.2));
        Assert.That(distinctWords, Is.GreaterThanOrEqualTo(TopicCount * TopWords * 0.6));
    }

    [Test]
    public void Fit_WhenRealReviews_TopWordsCoOccurMoreThanRandomVocabularyPairs()
    {
        var fitted = Model.Value;
        var documents = fitted.Documents.Select(d => d.ToHashSet()).ToList();
        var topicCoherence = fitted.Model.Topics.Average(t => MeanNpmi(t.TopWords.Take(TopWords).Select(w => w.Term).ToList(), documents));
        var random = new Random(7);
        var vocabulary = documents.SelectMany(d => d).GroupBy(w => w).Where(g => g.Count() >= 10).Select(g => g.Key).Order().ToList();
        var baseline = Enumerable.Range(0, TopicCount)
            .Average(_ => MeanNpmi(Enumerable.Range(0, TopWords).Select(_ => vocabulary[random.Next(vocabulary.Count)]).Distinct().ToList(), documents));
        TestContext.Out.WriteLine($"topic NPMI {topicCoherence:F3}, random word sets NPMI {baseline:F3}");

        Assert.That(topicCoherence, Is.GreaterThan(baseline + 0.05));
    }

    [Test]
    public void Score_WhenRealReviewers_KeywordsComeFromTheirOwnReviewsAndDiffer()
    {
        var fitted = Model.Value;
        var users = fitted.Users;
        var scores = fitted.UserScores;
        var own = users.Zip(scores).Count(pair => pair.Second.Keywords.Count > 0
                                                  && pair.Second.Keywords.All(k => pair.First.Tokens.Contains(k.Term)));
        var withKeywords = scores.Count(s => s.Keywords.Count > 0);
        var commonestTop = scores.Where(s => s.Keywords.Count > 0).GroupBy(s => s.Keywords[0].Term).Max(g => g.Count());
        TestContext.Out.WriteLine($"{users.Count} users, {withKeywords} with keywords; commonest first keyword shared by {commonestTop}; fit {fitted.FitSeconds:F2} s, score {fitted.ScoreSeconds:F2} s");

        Assert.That(withKeywords, Is.GreaterThan(users.Count * 0.95));
        Assert.That(own, Is.EqualTo(withKeywords));
        Assert.That(commonestTop, Is.LessThan(withKeywords * 0.1));
    }

    /// <summary>Mean normalised pointwise mutual information of word pairs over document co-occurrence; 0 is independence.</summary>
    private static double MeanNpmi(IReadOnlyList<string> words, List<HashSet<string>> documents)
    {
        var n = (double)documents.Count;
        var values = new List<double>();
        for (var i = 0; i < words.Count; i++)
        {
            for (var j = i + 1; j < words.Count; j++)
            {
                var both = documents.Count(d => d.Contains(words[i]) && d.Contains(words[j]));
                var pi = documents.Count(d => d.Contains(words[i])) / n;
                var pj = documents.Count(d => d.Contains(words[j])) / n;
                var pij = (both + 1e-12) / n;
                values.Add(both == 0 ? -1 : Math.Log(pij / (pi * pj)) / -Math.Log(pij));
            }
        }

        return values.Average();
    }

    private static Fitted Fit()
    {
        var path = Path.GetFullPath(Path.Combine(RepositoryRoot.Find(), "..", "shared", "data", "amazon-all-beauty-reviews", "All_Beauty_5.json.gz"));
        if (!File.Exists(path))
        {
            Assert.Ignore($"Real review data not found at {path}.");
        }

        var reviews = AmazonReviews.ReadDeduplicated(path);
        var documents = reviews.Select(r => Tokenizer.Tokenize(TextCleaner.Clean(r.Text))).ToList();
        var started = Stopwatch.GetTimestamp();
        var model = TextProfileModel.Fit(documents.Cast<IReadOnlyList<string>>().ToList(), new TextModelOptions { TopicCount = TopicCount, TopicWordCount = TopWords }, DateTime.UtcNow);
        var fitSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var users = reviews.Zip(documents).GroupBy(p => p.First.ReviewerId)
            .Select(g => (Tokens: g.SelectMany(p => p.Second).ToHashSet(), Document: (IReadOnlyList<string>)g.SelectMany(p => p.Second).ToList()))
            .ToList();
        started = Stopwatch.GetTimestamp();
        var scores = model.Score(users.Select(u => u.Document).ToList());
        return new Fitted(model, documents, users.Select(u => (u.Tokens, u.Document)).ToList(), scores, fitSeconds, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    private sealed record Fitted(
        TextProfileModel Model,
        List<List<string>> Documents,
        List<(HashSet<string> Tokens, IReadOnlyList<string> Document)> Users,
        IReadOnlyList<TextScore> UserScores,
        double FitSeconds,
        double ScoreSeconds);
}

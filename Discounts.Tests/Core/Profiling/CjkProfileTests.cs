using Discounts.Core.Profiling;

namespace Discounts.Tests.Core.Profiling;

public sealed class CjkProfileTests
{
    [Test]
    public void Score_WhenUserWritesChinese_KeywordsAreChineseBigramsFromTheirText()
    {
        string[] chinese = ["这款面霜很保湿", "保湿面霜推荐", "面霜味道清淡", "精华液吸收快", "精华液很好用", "防晒霜不油腻"];
        string[] english = ["retinol serum works", "hiking boots are warm", "camping tent for two", "matcha tea is fresh", "serum for dry skin", "tent poles broke"];
        var corpus = chinese.Concat(english).Concat(chinese).Concat(english)
            .Select(t => (IReadOnlyList<string>)Tokenizer.Tokenize(TextCleaner.Clean(t))).ToList();
        var model = TextProfileModel.Fit(corpus, new TextModelOptions { TopicCount = 2, LdaIterations = 20, MaxDocumentShare = 0.9 }, DateTime.UtcNow);

        var score = model.Score(Tokenizer.Tokenize(TextCleaner.Clean("我想买保湿面霜，面霜！")));

        Assert.That(model.Metadata.Vocabulary, Does.Contain("面霜").And.Contain("保湿"));
        Assert.That(score.Keywords.Select(k => k.Term).First(), Is.EqualTo("面霜"));
        Assert.That(score.Keywords.Select(k => k.Term), Is.SubsetOf(new[] { "面霜", "保湿", "湿面" }));
    }
}

using Discounts.Core.Domain;

namespace Discounts.Core.Profiling;

/// <summary>What the builder knows about one user: their stored (already cleaned) texts and their events.</summary>
public sealed record UserActivity(long UserId, IReadOnlyList<UserText> Texts, IReadOnlyList<BehaviourEvent> Events);

public sealed record UserTopic(int Id, double Share, IReadOnlyList<string> TopWords);

public sealed record BuiltProfile(
    long UserId,
    IReadOnlyList<WeightedTerm> Keywords,
    IReadOnlyList<UserTopic> Topics,
    BehaviourFigures Behaviour,
    string ProfileText,
    string TextModelVersion,
    long VocabularyVersion);

/// <summary>Turns users' texts and events into profiles against a fitted text model. Pure: no storage, no clock.</summary>
public static class ProfileComputation
{
    /// <summary>A user's most recent texts are enough to describe them, and bound the cost of one very chatty user.</summary>
    public const int MaxTextsPerUser = 200;

    public static IReadOnlyList<string> Tokens(IEnumerable<UserText> texts) =>
        texts.OrderByDescending(t => t.OccurredAt).Take(MaxTextsPerUser).SelectMany(t => Tokenizer.Tokenize(t.Text)).ToList();

    /// <summary>Each user's texts tokenised, in the order given. Tokenising is about a third of scoring's CPU time, so it runs on every core.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Documents(IReadOnlyList<UserActivity> users) =>
        users.AsParallel().AsOrdered().Select(u => Tokens(u.Texts)).ToList();

    /// <param name="model">The fitted text model; null while the shop has too little text to fit one, which leaves topics empty.</param>
    public static IReadOnlyList<BuiltProfile> Build(IReadOnlyList<UserActivity> users, TextProfileModel? model, DateTime nowUtc) =>
        Build(users, Documents(users), model, terms: null, nowUtc);

    /// <param name="documents">The users' tokenised texts (<see cref="Documents"/>), indexed like <paramref name="users"/>.</param>
    /// <param name="model">The fitted text model: topics, and keywords when there are no live counts.</param>
    /// <param name="terms">Live document counts; with them keywords weigh every word, not only the fitted vocabulary's.</param>
    public static IReadOnlyList<BuiltProfile> Build(
        IReadOnlyList<UserActivity> users, IReadOnlyList<IReadOnlyList<string>> documents, TextProfileModel? model, TermStatistics? terms, DateTime nowUtc)
    {
        var scores = model?.Score(documents) ?? users.Select(_ => new TextScore([], [])).ToList();
        if (terms is not null)
        {
            var keywordCount = model?.Metadata.Options.KeywordCount ?? new TextModelOptions().KeywordCount;
            scores = scores.Select((score, i) => score with { Keywords = terms.Keywords(documents[i], keywordCount) }).ToList();
        }

        var topicsOfModel = model?.Topics ?? [];
        return users.Zip(scores, (user, score) =>
        {
            var behaviour = BehaviourProfile.Compute(user.Events, nowUtc);
            var topics = score.TopicMixture
                .Select((share, id) => new UserTopic(id, share, topicsOfModel[id].TopWords.Select(w => w.Term).ToList()))
                .Where(t => t.Share > 0)
                .OrderByDescending(t => t.Share).ThenBy(t => t.Id)
                .Take(3)
                .ToList();
            var queries = user.Texts.Where(t => t.Kind == TextKind.Search).OrderByDescending(t => t.OccurredAt).Select(t => t.Text).ToList();
            var text = ProfileText.Render(score.Keywords, score.TopicMixture, topicsOfModel, queries, behaviour.CategoryAffinity);
            return new BuiltProfile(user.UserId, score.Keywords, topics, behaviour, text, model?.Version ?? "", terms?.Version ?? 0);
        }).ToList();
    }
}

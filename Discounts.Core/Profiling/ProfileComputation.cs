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
    string TextModelVersion);

/// <summary>Turns users' texts and events into profiles against a fitted text model. Pure: no storage, no clock.</summary>
public static class ProfileComputation
{
    /// <summary>A user's most recent texts are enough to describe them, and bound the cost of one very chatty user.</summary>
    public const int MaxTextsPerUser = 200;

    public static IReadOnlyList<string> Tokens(IEnumerable<UserText> texts) =>
        texts.OrderByDescending(t => t.OccurredAt).Take(MaxTextsPerUser).SelectMany(t => Tokenizer.Tokenize(t.Text)).ToList();

    /// <param name="model">The fitted text model; null while the shop has too little text to fit one, which leaves keywords and topics empty.</param>
    public static IReadOnlyList<BuiltProfile> Build(IReadOnlyList<UserActivity> users, TextProfileModel? model, DateTime nowUtc)
    {
        // Tokenising is about a third of scoring's CPU time; on one thread it left a core idle while the model scored on both.
        var scores = model?.Score(users.AsParallel().AsOrdered().Select(u => Tokens(u.Texts)).ToList())
                     ?? users.Select(_ => new TextScore([], [])).ToList();
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
            return new BuiltProfile(user.UserId, score.Keywords, topics, behaviour, text, model?.Version ?? "");
        }).ToList();
    }
}

using Discounts.Core.Domain;
using Discounts.Core.Recommending;
using Discounts.Core.Scoring;

namespace Discounts.Core.Serving;

/// <summary>What the HTTP slices ask of recommendation serving; the state behind it lives in <see cref="RecommendationService"/>.</summary>
public interface IRecommendationService
{
    /// <summary>
    /// The user's ranked list of at most <paramref name="count"/> items, reused from the cache while nothing it depends
    /// on changed, or null when the shop has no user with this id.
    /// </summary>
    Task<CachedRanking?> RankAsync(string userId, int count, CancellationToken cancellationToken);

    /// <summary>Queues one served list's impressions for the background writer.</summary>
    void RecordServed(ServedList list);

    /// <summary>Writes every queued impression, so a read of impressions (attribution, outcomes) sees them.</summary>
    Task FlushImpressionsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The scorer's embedding of a user (their profile text, and their recent items for a version that reads them),
    /// computed once per profile version, model version and, for such a version, newest event
    /// (<paramref name="lastEventId"/>; null takes the newest vector known), off the caller's thread: null until it is
    /// ready (the first call queues it).
    /// </summary>
    float[]? UserVector(long userId, int profileVersion, string profileText, ScorerVersion version, long? lastEventId = null);

    /// <summary>Serves <paramref name="model"/> from now on.</summary>
    void UseBlend(BlendModel model, DateTime fittedAt);

    /// <summary>Records the time since <paramref name="since"/> for a phase of a request, and returns now for the next one.</summary>
    long RecordPhase(string phase, long since);
}

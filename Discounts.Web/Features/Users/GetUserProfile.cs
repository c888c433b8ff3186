using System.Text.Json;
using Discounts.Core.Data;
using Discounts.Core.Profiling;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Users;

public static class GetUserProfile
{
    public sealed record Query(string Id) : IQuery<Result>;

    /// <param name="UserId">The shop's id of the user.</param>
    /// <param name="Version">Grows with every rebuild of this profile; 0 while the first build is still queued.</param>
    /// <param name="TextModelVersion">The fitted vocabulary and topics the keywords and topics come from.</param>
    /// <param name="VocabularyVersion">The state of the live document counts that weighted the keywords; it grows when a fit reseeds them or a new word enters the vocabulary.</param>
    /// <param name="UpdatedAt">When the profile was last built (UTC).</param>
    /// <param name="Keywords">The strongest TF-IDF terms of the user's texts; weights are L2-normalised over all their terms.</param>
    /// <param name="Topics">The user's strongest LDA topics, with each topic's top words.</param>
    /// <param name="Behaviour">Recency, frequency, spend in cents, category affinity, discount taking, price sensitivity and churn risk.</param>
    /// <param name="ProfileText">The compact rendering the scorer reads.</param>
    public sealed record Result(
        string UserId,
        int Version,
        string TextModelVersion,
        long VocabularyVersion,
        DateTime? UpdatedAt,
        IReadOnlyList<WeightedTerm> Keywords,
        IReadOnlyList<UserTopic> Topics,
        BehaviourFigures Behaviour,
        string ProfileText);

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.Id).ValidExternalId();
    }

    public sealed class Handler(DiscountsDbContext db) : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var user = await db.Users.AsNoTracking().Where(u => u.ExternalId == query.Id).Select(u => new { u.Id }).FirstOrDefaultAsync(cancellationToken)
                       ?? throw new NotFoundException("User", query.Id);
            var profile = await db.Profiles.AsNoTracking().FirstOrDefaultAsync(p => p.UserId == user.Id, cancellationToken);
            if (profile is null)
            {
                return new Result(query.Id, 0, "", 0, null, [], [], BehaviourFigures.Empty, "");
            }

            return new Result(
                query.Id,
                profile.Version,
                profile.TextModelVersion,
                profile.VocabularyVersion,
                profile.UpdatedAt,
                JsonSerializer.Deserialize<List<WeightedTerm>>(profile.KeywordsJson, ProfileJson.Options) ?? [],
                JsonSerializer.Deserialize<List<UserTopic>>(profile.TopicsJson, ProfileJson.Options) ?? [],
                JsonSerializer.Deserialize<BehaviourFigures>(profile.BehaviourJson, ProfileJson.Options) ?? BehaviourFigures.Empty,
                profile.ProfileText);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/{id}/profile", async (string id, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(id), cancellationToken)))
            .WithName("GetUserProfile")
            .WithSummary("Read a user's profile: keywords, topics and behavioural figures")
            .WithDescription("Keywords are TF-IDF terms of the user's texts, weighted by live document counts so a word the shop has never seen counts at once; topics their LDA mixture with each topic's top words; "
                             + "behaviour holds recency, frequency, spend in cents, category affinity, discount taking, price sensitivity and churn risk.")
            .RequireAuthorization(Policies.Profiles)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem();
}

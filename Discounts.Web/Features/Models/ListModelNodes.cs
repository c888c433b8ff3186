using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Discounts.Web.Features.Models;

/// <summary>Which scorer each node serves, from the heartbeats nodes write as they poll the registry.</summary>
public static class ListModelNodes
{
    public sealed record Query : IQuery<Result>;

    public sealed record Result(long? ActiveModelVersionId, string? ActiveName, IReadOnlyList<NodeSummary> Nodes);

    public sealed record NodeSummary(
        string NodeId, IReadOnlyList<string> Roles, long? LoadedModelVersionId, string? LoadedName, string? LoadedSha256,
        bool ServesActive, bool Alive, DateTime StartedAt, DateTime LastSeenAt);

    public sealed class Validator : AbstractValidator<Query>;

    public sealed class Handler(DiscountsDbContext db, IOptions<NodeOptions> options, TimeProvider clock) : IQueryHandler<Query, Result>
    {
        /// <summary>Heartbeats older than this are left out: the node has long gone.</summary>
        private static readonly TimeSpan Forgotten = TimeSpan.FromDays(1);

        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var since = now - Forgotten;
            var active = await db.ModelVersions.AsNoTracking().Where(m => m.Status == ModelStatus.Active)
                .OrderByDescending(m => m.ActivatedAt).Select(m => new { m.Id, m.Name }).FirstOrDefaultAsync(cancellationToken);
            var rows = await db.NodeHeartbeats.AsNoTracking().Where(n => n.LastSeenAt >= since)
                .OrderBy(n => n.NodeId).ToListAsync(cancellationToken);
            // Alive: heard from within a few polls (and at least 15 s, for slow ticks under load).
            var alive = TimeSpan.FromSeconds(Math.Max(15, 5 * options.Value.PollSeconds));
            return new Result(active?.Id, active?.Name, rows.Select(n => new NodeSummary(
                n.NodeId, n.Roles.Split(',', StringSplitOptions.RemoveEmptyEntries), n.LoadedModelVersionId, n.LoadedModelName, n.LoadedSha256,
                active is not null && n.LoadedModelVersionId == active.Id, now - n.LastSeenAt <= alive, n.StartedAt, n.LastSeenAt)).ToList());
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/nodes", async (ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(), cancellationToken)))
            .WithName("ListModelNodes")
            .WithSummary("Each node's roles and the scorer version it has loaded")
            .WithDescription("From the heartbeats every node writes each Node:PollSeconds; nodes unheard from for a day are left out.")
            .RequireAuthorization(Policies.Read);
}

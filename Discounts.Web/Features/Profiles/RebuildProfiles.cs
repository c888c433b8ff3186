using Discounts.Core.Profiling;
using Discounts.Web.Infrastructure;
using Hangfire;
using Mediator;

namespace Discounts.Web.Features.Profiles;

public static class RebuildProfiles
{
    /// <param name="OnlyQueued">Rescore only users with new text or events against the active model; otherwise refit and rescore everyone.</param>
    public sealed record Command(bool OnlyQueued) : ICommand<Result>;

    public sealed record Result(string TextModelVersion, int Users, int Texts, double FitSeconds, double ScoreSeconds, bool Refitted, bool StillQueued);

    public sealed record Accepted(string JobId);

    public sealed class Handler(ProfileBuilder builder) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var report = command.OnlyQueued
                ? await builder.RefreshQueuedAsync(cancellationToken)
                : await builder.RebuildAllAsync(cancellationToken);
            return new Result(report.TextModelVersion, report.Users, report.Texts, report.FitSeconds, report.ScoreSeconds, report.Refitted,
                await builder.HasQueuedAsync(cancellationToken));
        }
    }

    /// <summary>A rebuild takes seconds to minutes, so the endpoint queues it as a job and answers at once.</summary>
    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/rebuild", (IBackgroundJobClient jobs) =>
                TypedResults.Accepted("/hangfire", new Accepted(jobs.Enqueue<ProfileJobs>(j => j.RebuildAllAsync(CancellationToken.None)))))
            .WithName("RebuildProfiles")
            .WithSummary("Queue a full profile rebuild: refit vocabulary and topics, rescore every user")
            .WithDescription("Runs as the Hangfire job that the recurring 'rebuild-profiles' also runs; watch it on /hangfire.")
            .RequireAuthorization(Policies.Science);
}

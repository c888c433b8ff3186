using System.Globalization;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Training;

public static class GetTrainingLoss
{
    public sealed record Query(long Id) : IQuery<Result>;

    public sealed record Result(IReadOnlyList<Point> Points);

    public sealed record Point(int Step, int Epoch, LossSplit Split, double Loss);

    public sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.Id).GreaterThan(0);
    }

    public sealed class Handler(DiscountsDbContext db) : IQueryHandler<Query, Result>
    {
        public async ValueTask<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            if (!await db.TrainingRuns.AnyAsync(r => r.Id == query.Id, cancellationToken))
                throw new NotFoundException("Training run", query.Id.ToString(CultureInfo.InvariantCulture));
            return new Result(await db.LossPoints.AsNoTracking()
                .Where(p => p.TrainingRunId == query.Id)
                .OrderBy(p => p.Step).ThenBy(p => p.Split)
                .Select(p => new Point(p.Step, p.Epoch, p.Split, p.Loss))
                .ToListAsync(cancellationToken));
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/runs/{id:long}/loss", async (long id, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Query(id), cancellationToken)))
            .WithName("GetTrainingLoss")
            .WithSummary("The loss curves of a fine-tuning run")
            .WithDescription("Train loss every few steps and validation loss after each epoch, in step order.")
            .RequireAuthorization(Policies.Read)
            .ProducesProblem(StatusCodes.Status404NotFound);
}

using System.Globalization;
using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Training.Serving;
using Discounts.Training.Weights;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Models;

/// <summary>Hot-swaps a registered version in; used to roll back. A file that fails its checks is refused and the old model keeps serving.</summary>
public static class ActivateModel
{
    public sealed record Command(long Id) : ICommand<Result>;

    public sealed record Result(long Id, ModelStatus Status, double SwapMilliseconds);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Id).GreaterThan(0);
    }

    public sealed class Handler(DiscountsDbContext db, ScorerActivation activation) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            if (!await db.ModelVersions.AnyAsync(m => m.Id == command.Id, cancellationToken))
                throw new NotFoundException("Model version", command.Id.ToString(CultureInfo.InvariantCulture));
            try
            {
                var swap = await activation.ActivateAsync(command.Id, cancellationToken);
                return new Result(command.Id, ModelStatus.Active, swap.TotalMilliseconds);
            }
            catch (Exception error) when (error is InvalidDataException or FileNotFoundException or WeightMismatchException)
            {
                throw new ConflictException($"Model version {command.Id} was refused and the serving model is unchanged: {error.Message}");
            }
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/{id:long}/activate", async (long id, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(new Command(id), cancellationToken)))
            .WithName("ActivateModel")
            .WithSummary("Activate a registered scorer version (also the rollback)")
            .WithDescription("Loads and checks the weights off to the side, then swaps them in; 409 when the file is refused.")
            .RequireAuthorization(Policies.Science)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
}

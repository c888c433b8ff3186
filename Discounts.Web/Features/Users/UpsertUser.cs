using Discounts.Core.Data;
using Discounts.Core.Domain;
using Discounts.Web.Infrastructure;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Discounts.Web.Features.Users;

public static class UpsertUser
{
    public sealed record Command(string? Id, DateTime? CreatedAt, bool ConsentPersonalisation, bool ConsentMarketing) : ICommand<Result>;

    /// <summary>The user's consent flags and when they joined the shop; the id is in the path.</summary>
    public sealed record UserBody(DateTime? CreatedAt, bool? ConsentPersonalisation, bool? ConsentMarketing);

    public sealed record Result(string Id, bool Created);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator(TimeProvider clock)
        {
            RuleFor(c => c.Id).ValidExternalId();
            RuleFor(c => c.CreatedAt).ValidEventTime(clock);
        }
    }

    public sealed class Handler(DiscountsDbContext db, TimeProvider clock) : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var user = await db.Users.FirstOrDefaultAsync(u => u.ExternalId == command.Id, cancellationToken);
            var created = user is null;
            if (user is null)
            {
                user = new User { ExternalId = command.Id!, CreatedAt = Ingestion.ToUtc(command.CreatedAt, now) };
                db.Users.Add(user);
            }
            else if (command.CreatedAt is { } createdAt)
            {
                user.CreatedAt = createdAt.ToUniversalTime();
            }

            user.ConsentPersonalisation = command.ConsentPersonalisation;
            user.ConsentMarketing = command.ConsentMarketing;
            user.UpdatedAt = now;
            await db.SaveChangesAsync(cancellationToken);
            return new Result(user.ExternalId, created);
        }
    }

    public static void Map(RouteGroupBuilder group) =>
        group.MapPut("/{id}", async (string id, [FromBody] UserBody user, ISender sender, CancellationToken cancellationToken) =>
                TypedResults.Ok(await sender.Send(
                    new Command(id, user.CreatedAt, user.ConsentPersonalisation ?? false, user.ConsentMarketing ?? false), cancellationToken)))
            .WithName("UpsertUser")
            .WithSummary("Create or update one user and their consent")
            .WithDescription("Consent defaults to false. Users first seen in events or texts are created without consent.")
            .RequireAuthorization(Policies.Shop)
            .ProducesValidationProblem();
}

using System.Data.Common;
using Discounts.Core.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Discounts.Core.Data;

/// <summary>
/// Inserts quoted offers in one transaction with one reused statement: through EF's change tracker a quote's three
/// offers cost a context, tracked objects and a commit of their own.
/// </summary>
public static class OfferWriter
{
    private static readonly string[] Properties =
    [
        nameof(Offer.ExternalId), nameof(Offer.UserId), nameof(Offer.ItemId), nameof(Offer.CampaignId), nameof(Offer.Kind),
        nameof(Offer.DiscountPercent), nameof(Offer.AmountOffCents), nameof(Offer.MinimumBasketCents), nameof(Offer.ListPriceCents),
        nameof(Offer.FinalPriceCents), nameof(Offer.ExpectedUplift), nameof(Offer.Propensity), nameof(Offer.IsExploration),
        nameof(Offer.ModelVersion), nameof(Offer.ScorerProbability), nameof(Offer.ScorerVersion), nameof(Offer.Reason), nameof(Offer.Status),
        nameof(Offer.CreatedAt), nameof(Offer.ExpiresAt),
    ];

    private static string? insert;

    /// <summary>Writes <paramref name="offers"/> and commits before returning: an offer the caller then answers with is durable.</summary>
    public static void Write(DiscountsDbContext db, IReadOnlyCollection<Offer> offers)
    {
        db.Database.OpenConnection();
        try
        {
            var connection = db.Database.GetDbConnection();
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = insert ??= Insert(db.Model);
            var parameters = Properties.Select((_, index) =>
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = $"@p{index}";
                command.Parameters.Add(parameter);
                return parameter;
            }).ToArray();
            foreach (var offer in offers)
            {
                object?[] values =
                [
                    offer.ExternalId, offer.UserId, offer.ItemId, offer.CampaignId, (int)offer.Kind, offer.DiscountPercent, offer.AmountOffCents,
                    offer.MinimumBasketCents, offer.ListPriceCents, offer.FinalPriceCents, offer.ExpectedUplift, offer.Propensity, offer.IsExploration,
                    offer.ModelVersion, offer.ScorerProbability, offer.ScorerVersion, offer.Reason, (int)offer.Status, offer.CreatedAt, offer.ExpiresAt,
                ];
                for (var i = 0; i < values.Length; i++) parameters[i].Value = values[i] ?? DBNull.Value;
                command.ExecuteNonQuery();
            }

            transaction.Commit();
        }
        finally
        {
            db.Database.CloseConnection();
        }
    }

    private static string Insert(IModel model) =>
        $"INSERT INTO {StoreNames.Table<Offer>(model)} ({string.Join(", ", Properties.Select(p => StoreNames.Column<Offer>(model, p)))}) "
        + $"VALUES ({string.Join(", ", Properties.Select((_, index) => $"@p{index}"))})";
}

using System.Security.Cryptography;
using System.Text;

namespace Discounts.Core.Domain;

/// <summary>
/// The tombstone of an erased user. It keeps only a SHA-256 of the shop's id (an id may itself be an e-mail address)
/// and the time of erasure, so data about that id dated before the erasure is never learned from again, even when the
/// shop re-sends it later.
/// </summary>
public sealed class ErasedUser
{
    public long Id { get; set; }
    public required string ExternalIdSha256 { get; set; }
    public DateTime ErasedAt { get; set; }

    public static string HashOf(string externalId) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(externalId)));
}

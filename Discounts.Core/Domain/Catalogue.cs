namespace Discounts.Core.Domain;

/// <summary>A product the shop sells. Money is in integer cents.</summary>
public sealed class Item : IKeyed
{
    public long Id { get; set; }
    public required string ExternalId { get; set; }
    public required string Title { get; set; }
    public string Description { get; set; } = "";
    public required string Category { get; set; }
    public string Brand { get; set; } = "";
    public long PriceCents { get; set; }
    public long CostCents { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class User : IKeyed
{
    public long Id { get; set; }
    public required string ExternalId { get; set; }
    public DateTime CreatedAt { get; set; }
    /// <summary>The user agreed to personalised recommendations and offers.</summary>
    public bool ConsentPersonalisation { get; set; }
    /// <summary>The user agreed to marketing messages.</summary>
    public bool ConsentMarketing { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>A row with a rising surrogate key, which keyset paging orders and resumes by.</summary>
public interface IKeyed
{
    long Id { get; }
}

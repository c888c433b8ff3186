namespace Discounts.Core.Demo;

public sealed class DemoOptions
{
    public const string Section = "Demo";

    /// <summary>Seed the demo shop on first start when the database is empty.</summary>
    public bool Seed { get; set; } = true;
}

namespace Discounts.Core.Data;

/// <summary>Field sizes shared by the schema and by input validation, so both refuse the same things.</summary>
public static class Limits
{
    public const int ExternalIdLength = 128;
    public const int NameLength = 200;
    public const int TitleLength = 500;
    public const int DescriptionLength = 10_000;
    public const int TextLength = 10_000;
    /// <summary>The longest term the tokenizer keeps; longer runs of letters are noise, not words.</summary>
    public const int TermLength = 40;
    public const int MaxPageSize = 1_000;
    public const int MaxBatchSize = 10_000;
}

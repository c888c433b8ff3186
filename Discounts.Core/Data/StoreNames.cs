using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Discounts.Core.Data;

/// <summary>
/// Quoted table and column names as the EF model maps them, for the few statements written by hand (the request path's
/// reads and the impression writer), so a renamed property cannot silently read or write the wrong column.
/// </summary>
public static class StoreNames
{
    public static string Table<T>(IModel model) => Quote(Entity<T>(model).GetTableName()!);

    public static string Column<T>(IModel model, string property)
    {
        var entity = Entity<T>(model);
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        return Quote(entity.FindProperty(property)!.GetColumnName(table)!);
    }

    /// <summary>Double quotes, which SQLite and PostgreSQL both read as an identifier.</summary>
    public static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static IEntityType Entity<T>(IModel model) =>
        model.FindEntityType(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not in the model.");
}

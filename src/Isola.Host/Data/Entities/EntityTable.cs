namespace Isola.Host.Data.Entities;

/// <summary>A table (or view) of an app's <c>public</c> schema as the entity API sees it.</summary>
/// <param name="IdColumn">Its one-column primary key, else a column named <c>id</c>; null when it has neither.</param>
/// <param name="ForeignKeys">One-column foreign keys: column → the table it references.</param>
internal sealed record EntityTable(string Name, IReadOnlyList<string> Columns, string? IdColumn, IReadOnlyDictionary<string, string> ForeignKeys, bool IsView)
{
    public string QualifiedName => "public." + EntityNames.Quote(Name);

    public bool HasColumn(string column) => Columns.Contains(column, StringComparer.Ordinal);
}

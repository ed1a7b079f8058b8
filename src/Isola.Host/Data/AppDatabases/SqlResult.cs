using System.Text.Json.Nodes;

namespace Isola.Host.Data.AppDatabases;

/// <summary>One statement's result: rows as JSON objects (see <see cref="PgJson"/> for the type mapping).</summary>
internal sealed record SqlResult(IReadOnlyList<JsonObject> Rows, long RowCount, IReadOnlyList<SqlField> Fields);

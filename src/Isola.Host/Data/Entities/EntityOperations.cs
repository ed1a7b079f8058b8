using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Errors;
using Isola.Host.Workers.Calls;

namespace Isola.Host.Data.Entities;

/// <summary>
/// The entity API of <c>ctx.db</c> (D5): insert, get, find (query with a filter), lookup, update, delete and link
/// over an app's tables, as SQL the host writes (names quoted, values bound). Each runs as the call's caller under
/// row-level security; a write a policy refuses, or a row that exists but the caller may not see or change, is
/// <c>POLICY_DENIED</c> (R4). Whether it exists is asked as service_role, outside the caller's transaction.
/// </summary>
internal sealed class EntityOperations(EntityCatalog catalog, SqlExecutor executor)
{
    public static readonly IReadOnlyList<string> Ops = ["db.insert", "db.get", "db.find", "db.lookup", "db.update", "db.delete", "db.link"];

    /// <summary>Runs a statement in the call's scope (its transaction, or on its own).</summary>
    public delegate Task<SqlResult> Run(string sql, IReadOnlyList<JsonElement> parameters);

    public async Task<JsonObject> HandleAsync(HostCall call, string appId, DbCaller caller, Run run, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var args = call.Args;
        var entity = String(args, "entity", call.Op);
        var table = await catalog.TableAsync(appId, entity, deadline, cancellationToken);
        try
        {
            switch (call.Op)
            {
                case "db.insert":
                {
                    var (columns, values) = Fields(table, entity, Object(args, "data", call.Op));
                    // A table with no id to address rows by still takes rows; the id is then null.
                    var returning = table.IdColumn is { } id ? " returning " + EntityNames.Quote(id) : "";
                    var sql = columns.Count == 0
                        ? $"insert into {table.QualifiedName} default values{returning}"
                        : $"insert into {table.QualifiedName} ({string.Join(", ", columns.Select(EntityNames.Quote))}) values ({string.Join(", ", columns.Select((_, i) => "$" + (i + 1)))}){returning}";
                    var result = await run(sql, values);
                    return new JsonObject { ["id"] = table.IdColumn is { } idColumn && result.Rows.Count > 0 ? result.Rows[0][idColumn]?.DeepClone() : null };
                }

                case "db.get":
                {
                    var id = Value(args, "id", call.Op);
                    var result = await run($"select * from {table.QualifiedName} where {EntityNames.Quote(IdColumn(table, entity))} = $1", [id]);
                    if (result.Rows.Count == 0)
                    {
                        await RefuseIfHiddenAsync(appId, caller, table, entity, id, "read", deadline, cancellationToken);
                    }

                    return new JsonObject { ["row"] = result.Rows.Count == 0 ? null : AsEntity(result.Rows[0]) };
                }

                case "db.find":
                {
                    var (columns, values) = Fields(table, entity, Object(args, "filter", call.Op));
                    var result = await run($"select * from {table.QualifiedName}{Where(columns, values, 1)}{OrderById(table)}", [.. values.Where(v => v.ValueKind != JsonValueKind.Null)]);
                    return new JsonObject { ["rows"] = new JsonArray([.. result.Rows.Select(AsEntity)]) };
                }

                case "db.lookup":
                {
                    var column = Column(table, entity, String(args, "field", call.Op));
                    var value = Value(args, "value", call.Op, allowNull: true);
                    var result = await run($"select * from {table.QualifiedName}{Where([column], [value], 1)}{OrderById(table)} limit 1",
                        value.ValueKind == JsonValueKind.Null ? [] : [value]);
                    return new JsonObject { ["row"] = result.Rows.Count == 0 ? null : AsEntity(result.Rows[0]) };
                }

                case "db.update":
                {
                    var id = Value(args, "id", call.Op);
                    var idColumn = EntityNames.Quote(IdColumn(table, entity));
                    var (columns, values) = Fields(table, entity, Object(args, "data", call.Op));
                    var result = columns.Count == 0
                        ? await run($"select * from {table.QualifiedName} where {idColumn} = $1", [id])
                        : await run($"update {table.QualifiedName} set {string.Join(", ", columns.Select((c, i) => $"{EntityNames.Quote(c)} = ${i + 2}"))} where {idColumn} = $1 returning *",
                            [id, .. values]);
                    if (result.Rows.Count == 0)
                    {
                        await RefuseIfHiddenAsync(appId, caller, table, entity, id, "update", deadline, cancellationToken);
                        throw new HostCallException(ErrorCodes.NotFound, $"{entity} {id.GetRawText()} does not exist");
                    }

                    return new JsonObject { ["row"] = AsEntity(result.Rows[0]) };
                }

                case "db.delete":
                {
                    var id = Value(args, "id", call.Op);
                    var result = await run($"delete from {table.QualifiedName} where {EntityNames.Quote(IdColumn(table, entity))} = $1", [id]);
                    if (result.RowCount == 0)
                    {
                        await RefuseIfHiddenAsync(appId, caller, table, entity, id, "delete", deadline, cancellationToken);
                    }

                    return new JsonObject { ["deleted"] = result.RowCount > 0 };
                }

                case "db.link":
                {
                    var id = Value(args, "id", call.Op);
                    var relation = String(args, "relation", call.Op);
                    var column = RelationColumn(table, entity, relation);
                    var target = Value(args, "targetId", call.Op, allowNull: true);
                    var result = await run($"update {table.QualifiedName} set {EntityNames.Quote(column)} = $2 where {EntityNames.Quote(IdColumn(table, entity))} = $1", [id, target]);
                    if (result.RowCount == 0)
                    {
                        await RefuseIfHiddenAsync(appId, caller, table, entity, id, "update", deadline, cancellationToken);
                        throw new HostCallException(ErrorCodes.NotFound, $"{entity} {id.GetRawText()} does not exist");
                    }

                    return [];
                }

                default:
                    throw new HostCallException(ErrorCodes.UnknownCall, $"the host does not serve '{call.Op}'");
            }
        }
        catch (SqlExecutionException ex) when (ex.SqlState == Npgsql.PostgresErrorCodes.InsufficientPrivilege && caller.Role != DbRole.Service)
        {
            // A policy's WITH CHECK, or no grant at all: the caller may not write this (R4).
            throw new HostCallException(ErrorCodes.PolicyDenied, $"{entity}: {ex.Message}");
        }
    }

    /// <summary>
    /// The caller got nothing back for a row id: if the row exists (asked as service_role), row-level security hid it,
    /// which is POLICY_DENIED rather than "not there".
    /// </summary>
    private async Task RefuseIfHiddenAsync(string appId, DbCaller caller, EntityTable table, string entity, JsonElement id, string action, DateTimeOffset deadline,
        CancellationToken cancellationToken)
    {
        if (caller.Role == DbRole.Service && caller.BindingLogin is null)
        {
            return; // service_role sees every row: nothing was hidden
        }

        var exists = await executor.ExecuteAsync(appId, DbCaller.Service,
            $"select 1 from {table.QualifiedName} where {EntityNames.Quote(IdColumn(table, entity))} = $1", [id], deadline, cancellationToken);
        if (exists.Rows.Count > 0)
        {
            throw new HostCallException(ErrorCodes.PolicyDenied,
                $"{entity} {id.GetRawText()} exists, but the row-level security policies of {table.Name} do not let {caller.RoleName} {action} it");
        }
    }

    private static string Where(IReadOnlyList<string> columns, IReadOnlyList<JsonElement> values, int firstParameter)
    {
        if (columns.Count == 0)
        {
            return "";
        }

        var parameter = firstParameter;
        var conditions = columns.Select((column, i) => values[i].ValueKind == JsonValueKind.Null
            ? $"{EntityNames.Quote(column)} is null"
            : $"{EntityNames.Quote(column)} = ${parameter++}");
        return " where " + string.Join(" and ", conditions);
    }

    private static string OrderById(EntityTable table) => table.IdColumn is { } id ? " order by " + EntityNames.Quote(id) : "";

    /// <summary>A row with each column under its field name (room_id → roomId).</summary>
    private static JsonObject AsEntity(JsonObject row)
    {
        var entity = new JsonObject();
        foreach (var (column, value) in row.ToList())
        {
            row.Remove(column);
            entity[EntityNames.FieldFor(column)] = value;
        }

        return entity;
    }

    private static (List<string> Columns, List<JsonElement> Values) Fields(EntityTable table, string entity, JsonElement fields)
    {
        var columns = new List<string>();
        var values = new List<JsonElement>();
        foreach (var field in fields.EnumerateObject())
        {
            columns.Add(Column(table, entity, field.Name));
            values.Add(field.Value);
        }

        return (columns, values);
    }

    private static string Column(EntityTable table, string entity, string field) =>
        EntityNames.ColumnsFor(field).FirstOrDefault(table.HasColumn)
        ?? throw new HostCallException(ErrorCodes.InvalidArgs, $"{entity} (table {table.Name}) has no field '{field}'; its columns: {string.Join(", ", table.Columns)}");

    private static string RelationColumn(EntityTable table, string entity, string relation)
    {
        var candidates = EntityNames.RelationColumnsFor(relation).Where(table.HasColumn).ToList();
        return candidates.FirstOrDefault(table.ForeignKeys.ContainsKey) ?? candidates.FirstOrDefault()
            ?? throw new HostCallException(ErrorCodes.InvalidArgs,
                $"{entity} (table {table.Name}) has no column for the relation '{relation}' (looked for {string.Join(", ", EntityNames.RelationColumnsFor(relation).Distinct())})");
    }

    private static string IdColumn(EntityTable table, string entity) =>
        table.IdColumn ?? throw new HostCallException(ErrorCodes.InvalidArgs, $"{entity} (table {table.Name}) has no primary key of one column and no 'id' column to address rows by");

    private static string String(JsonElement args, string name, string op) =>
        args.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : throw new HostCallException(ErrorCodes.InvalidArgs, $"{op} needs '{name}' as a non-empty string");

    private static JsonElement Object(JsonElement args, string name, string op) =>
        !args.TryGetProperty(name, out var value) || value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined
            ? JsonDocument.Parse("{}").RootElement
            : value.ValueKind == JsonValueKind.Object ? value : throw new HostCallException(ErrorCodes.InvalidArgs, $"{op} needs '{name}' as an object");

    private static JsonElement Value(JsonElement args, string name, string op, bool allowNull = false) =>
        args.TryGetProperty(name, out var value) && (allowNull || value.ValueKind is JsonValueKind.String or JsonValueKind.Number)
            ? value
            : throw new HostCallException(ErrorCodes.InvalidArgs, $"{op} needs '{name}'");
}

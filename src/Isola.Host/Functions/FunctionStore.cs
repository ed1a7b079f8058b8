using System.Text.Json;
using Isola.Host.Build;
using Isola.Host.Errors;
using Npgsql;
using NpgsqlTypes;

namespace Isola.Host.Functions;

/// <summary>
/// The function registry in PostgreSQL. Every write is one transaction that ends with a NOTIFY on
/// <see cref="ChangeChannel"/>, so nodes refresh their in-memory routing at once.
/// </summary>
internal sealed class FunctionStore(NpgsqlDataSource dataSource)
{
    /// <summary>NOTIFY channel; the payload is "app/name".</summary>
    public const string ChangeChannel = "isola_functions";

    private const string CurrentVersionQuery = """
        select f.id, f.app_id, f.name, f.current_version, f.created_at, f.updated_at,
               v.settings::text, array(select jsonb_object_keys(v.env) order by 1), v.artifact_hash, a.size, {0}
        from isola.functions f
        join isola.function_versions v on v.function_id = f.id and v.version = f.current_version
        join isola.artifacts a on a.hash = v.artifact_hash
        """;

    public async Task<bool> ExistsAsync(string appId, string name, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select 1 from isola.functions where app_id = $1 and name = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task<IReadOnlyList<FunctionRecord>> ListAsync(string appId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture,
            CurrentVersionQuery, "null::text") + " where f.app_id = $1 order by f.name");
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        return await ReadRecordsAsync(command, cancellationToken);
    }

    /// <summary>Finds a function by name, or by id (MolnOS addresses functions by id).</summary>
    public async Task<FunctionRecord?> FindAsync(string appId, string nameOrId, bool includeCode, CancellationToken cancellationToken)
    {
        var byId = Guid.TryParse(nameOrId, out var id);
        await using var command = dataSource.CreateCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture,
            CurrentVersionQuery, includeCode ? "v.source::text" : "null::text")
            + (byId ? " where f.app_id = $1 and f.id = $2" : " where f.app_id = $1 and f.name = $2"));
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        command.Parameters.Add(byId ? new NpgsqlParameter { Value = id } : new NpgsqlParameter { Value = nameOrId });
        var records = await ReadRecordsAsync(command, cancellationToken);
        return records.Count == 0 ? null : records[0];
    }

    public async Task<FunctionRecord> GetAsync(string appId, string nameOrId, bool includeCode, CancellationToken cancellationToken) =>
        await FindAsync(appId, nameOrId, includeCode, cancellationToken)
        ?? throw IsolaException.NotFound(ErrorCodes.FunctionNotFound, $"function '{nameOrId}' does not exist in app '{appId}'");

    /// <summary>Inserts a new function at version 1; a name taken meanwhile is 409 FUNCTION_EXISTS.</summary>
    public async Task CreateAsync(Guid id, string appId, string name, FunctionSource source, BuildArtifact artifact, FunctionSettings settings,
        IReadOnlyDictionary<string, string> sealedEnv, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await using (var insert = new NpgsqlCommand(
                "insert into isola.functions (id, app_id, name, current_version) values ($1, $2, $3, 1)", connection))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = id });
                insert.Parameters.Add(new NpgsqlParameter { Value = appId });
                insert.Parameters.Add(new NpgsqlParameter { Value = name });
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new IsolaException(ErrorKind.Conflict, ErrorCodes.FunctionExists, $"function '{name}' already exists in app '{appId}'; update it with PUT") { Field = "name" };
        }

        await InsertArtifactAsync(connection, artifact, cancellationToken);
        await InsertVersionAsync(connection, id, 1, source.ToJson().ToJsonString(), artifact.Hash, settings, sealedEnv, cancellationToken);
        await NotifyAsync(connection, appId, name, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Adds version N+1 and makes it current. <paramref name="source"/> and <paramref name="artifact"/> null keep
    /// the current version's source and artifact; <paramref name="sealedEnv"/> null keeps its env, changed by <paramref name="envEdit"/> if given.
    /// </summary>
    public async Task<int> AddVersionAsync(FunctionRecord current, FunctionSource? source, BuildArtifact? artifact, FunctionSettings settings,
        IReadOnlyDictionary<string, string>? sealedEnv, CancellationToken cancellationToken, EnvEdit? envEdit = null)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Lock the function row: concurrent updates get consecutive numbers, and a concurrent delete wins cleanly.
        int next;
        await using (var lockRow = new NpgsqlCommand(
            "select coalesce((select max(version) from isola.function_versions where function_id = $1), 0) + 1 from isola.functions where id = $1 for update", connection))
        {
            lockRow.Parameters.Add(new NpgsqlParameter { Value = current.Id });
            next = await lockRow.ExecuteScalarAsync(cancellationToken) is int n
                ? n
                : throw IsolaException.NotFound(ErrorCodes.FunctionNotFound, $"function '{current.Name}' was deleted while it was being updated");
        }

        string sourceJson, artifactHash;
        IReadOnlyDictionary<string, string> env;
        await using (var previous = new NpgsqlCommand(
            "select source::text, artifact_hash, env::text from isola.function_versions where function_id = $1 and version = $2", connection))
        {
            previous.Parameters.Add(new NpgsqlParameter { Value = current.Id });
            previous.Parameters.Add(new NpgsqlParameter { Value = current.Version });
            await using var reader = await previous.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            sourceJson = source is null ? reader.GetString(0) : source.ToJson().ToJsonString();
            artifactHash = artifact?.Hash ?? reader.GetString(1);
            env = sealedEnv ?? JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(2))!;
            env = envEdit?.ApplyTo(env) ?? env;
        }

        if (artifact is not null)
        {
            await InsertArtifactAsync(connection, artifact, cancellationToken);
        }

        await InsertVersionAsync(connection, current.Id, next, sourceJson, artifactHash, settings, env, cancellationToken);
        await SetCurrentAsync(connection, current.Id, next, cancellationToken);
        await NotifyAsync(connection, current.AppId, current.Name, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return next;
    }

    /// <summary>Points the function back at an earlier version; nothing is copied or deleted.</summary>
    public async Task RollbackAsync(FunctionRecord function, int version, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var exists = new NpgsqlCommand("select 1 from isola.function_versions where function_id = $1 and version = $2", connection))
        {
            exists.Parameters.Add(new NpgsqlParameter { Value = function.Id });
            exists.Parameters.Add(new NpgsqlParameter { Value = version });
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                throw new IsolaException(ErrorKind.NotFound, ErrorCodes.VersionNotFound, $"function '{function.Name}' has no version {version}") { Field = "version" };
            }
        }

        await SetCurrentAsync(connection, function.Id, version, cancellationToken);
        await NotifyAsync(connection, function.AppId, function.Name, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<FunctionVersionRecord>> ListVersionsAsync(FunctionRecord function, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select v.version, v.version = f.current_version, v.created_at, v.artifact_hash, a.size, v.settings::text,
                   array(select jsonb_object_keys(v.env) order by 1)
            from isola.function_versions v
            join isola.functions f on f.id = v.function_id
            join isola.artifacts a on a.hash = v.artifact_hash
            where v.function_id = $1
            order by v.version desc
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = function.Id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var versions = new List<FunctionVersionRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            versions.Add(new FunctionVersionRecord(reader.GetInt32(0), reader.GetBoolean(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.GetString(3), reader.GetInt32(4), SettingsJson.Deserialize(reader.GetString(5)), reader.GetFieldValue<string[]>(6)));
        }

        return versions;
    }

    /// <summary>Deletes the function with all its versions, then any artifact no version uses any more.</summary>
    public async Task<bool> DeleteAsync(string appId, string nameOrId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var byId = Guid.TryParse(nameOrId, out var id);
        string? name = null;
        var functionId = Guid.Empty;
        await using (var delete = new NpgsqlCommand(byId
            ? "delete from isola.functions where app_id = $1 and id = $2 returning id, name"
            : "delete from isola.functions where app_id = $1 and name = $2 returning id, name", connection))
        {
            delete.Parameters.Add(new NpgsqlParameter { Value = appId });
            delete.Parameters.Add(byId ? new NpgsqlParameter { Value = id } : new NpgsqlParameter { Value = nameOrId });
            await using var reader = await delete.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                functionId = reader.GetGuid(0);
                name = reader.GetString(1);
            }
        }

        if (name is null)
        {
            return false;
        }

        await using (var records = new NpgsqlCommand("delete from isola.invocations where function_id = $1", connection))
        {
            // Invocation records have no foreign key (they are COPYed in bulk); they go with their function.
            records.Parameters.Add(new NpgsqlParameter { Value = functionId });
            await records.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var collect = new NpgsqlCommand(
            "delete from isola.artifacts a where not exists (select 1 from isola.function_versions v where v.artifact_hash = a.hash)", connection))
        {
            await collect.ExecuteNonQueryAsync(cancellationToken);
        }

        await NotifyAsync(connection, appId, name, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>The deployed files of a version, for workers; null when it was a single <c>code</c> string.</summary>
    public async Task<FunctionSource?> GetFilesAsync(Guid functionId, int version, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "select source::text from isola.function_versions where function_id = $1 and version = $2 and source ? 'files'");
        command.Parameters.Add(new NpgsqlParameter { Value = functionId });
        command.Parameters.Add(new NpgsqlParameter { Value = version });
        return await command.ExecuteScalarAsync(cancellationToken) is string json
            ? FunctionSource.FromJson(System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject())
            : null;
    }

    private static async Task<IReadOnlyList<FunctionRecord>> ReadRecordsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<FunctionRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(new FunctionRecord(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetFieldValue<DateTimeOffset>(5), SettingsJson.Deserialize(reader.GetString(6)),
                reader.GetFieldValue<string[]>(7), reader.GetString(8), reader.GetInt32(9),
                reader.IsDBNull(10) ? null : FunctionSource.FromJson(System.Text.Json.Nodes.JsonNode.Parse(reader.GetString(10))!.AsObject())));
        }

        return records;
    }

    private static async Task InsertArtifactAsync(NpgsqlConnection connection, BuildArtifact artifact, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "insert into isola.artifacts (hash, content, size) values ($1, $2, $3) on conflict (hash) do nothing", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = artifact.Hash });
        command.Parameters.Add(new NpgsqlParameter { Value = artifact.Content, NpgsqlDbType = NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter { Value = artifact.Content.Length });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task InsertVersionAsync(NpgsqlConnection connection, Guid functionId, int version, string sourceJson, string artifactHash,
        FunctionSettings settings, IReadOnlyDictionary<string, string> sealedEnv, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            insert into isola.function_versions (function_id, version, source, artifact_hash, settings, env)
            values ($1, $2, $3::jsonb, $4, $5::jsonb, $6::jsonb)
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = functionId });
        command.Parameters.Add(new NpgsqlParameter { Value = version });
        command.Parameters.Add(new NpgsqlParameter { Value = sourceJson });
        command.Parameters.Add(new NpgsqlParameter { Value = artifactHash });
        command.Parameters.Add(new NpgsqlParameter { Value = SettingsJson.Serialize(settings) });
        command.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(sealedEnv) });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task SetCurrentAsync(NpgsqlConnection connection, Guid functionId, int version, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "update isola.functions set current_version = $2, updated_at = now() where id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = functionId });
        command.Parameters.Add(new NpgsqlParameter { Value = version });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task NotifyAsync(NpgsqlConnection connection, string appId, string name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("select pg_notify($1, $2)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = ChangeChannel });
        command.Parameters.Add(new NpgsqlParameter { Value = appId + "/" + name });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

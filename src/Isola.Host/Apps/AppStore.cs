using System.Text.RegularExpressions;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Errors;
using Npgsql;

namespace Isola.Host.Apps;

/// <summary>Apps group functions, a database and auth settings; <c>default</c> always exists.</summary>
internal sealed partial class AppStore(NpgsqlDataSource dataSource, AppDatabaseProvisioner databases)
{
    public const string DefaultApp = "default";

    public sealed record App(string Id, DateTimeOffset CreatedAt, int FunctionCount);

    public async Task<IReadOnlyList<App>> ListAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select a.id, a.created_at, (select count(*)::int from isola.functions f where f.app_id = a.id)
            from isola.apps a order by a.id
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var apps = new List<App>();
        while (await reader.ReadAsync(cancellationToken))
        {
            apps.Add(new App(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt32(2)));
        }

        return apps;
    }

    public async Task<App> CreateAsync(string id, CancellationToken cancellationToken)
    {
        ValidateId(id);
        await using var command = dataSource.CreateCommand("insert into isola.apps (id) values ($1) on conflict (id) do nothing returning created_at");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        if (await command.ExecuteScalarAsync(cancellationToken) is not DateTime created)
        {
            throw new IsolaException(ErrorKind.Conflict, ErrorCodes.AppExists, $"app '{id}' already exists") { Field = "id" };
        }

        // An app is born with its database. Should this fail, the next start provisions it (as on upgrade).
        await databases.EnsureAppAsync(id, cancellationToken);
        return new App(id, new DateTimeOffset(created, TimeSpan.Zero), 0);
    }

    /// <summary>Throws 404 APP_NOT_FOUND unless the app exists.</summary>
    public async Task RequireAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select 1 from isola.apps where id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        if (await command.ExecuteScalarAsync(cancellationToken) is null)
        {
            throw IsolaException.NotFound(ErrorCodes.AppNotFound, $"app '{id}' does not exist; create it with POST /v1/apps");
        }
    }

    /// <summary>App ids become PostgreSQL schema names later, so they stay short, lower-case identifiers.</summary>
    public static void ValidateId(string id)
    {
        if (!AppIdPattern().IsMatch(id))
        {
            throw IsolaException.InvalidField("id", $"must be 1-40 characters of lower-case letters, digits and '-', starting with a letter (got '{id}')");
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,39}$")]
    private static partial Regex AppIdPattern();
}

using Isola.Host.Errors;
using Isola.Host.Observability;
using Npgsql;
using static Isola.Host.Data.AppDatabases.AppDatabaseNames;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// Creates what app data needs, idempotently, over the platform's own (admin) connection: the
/// Supabase roles once per server, and per app a database with its owner role, its login roles
/// (one per Supabase role, plus the migrator), the <c>auth</c> schema and Supabase's default privileges. Runs for every app at
/// start (so apps made before this existed get their database) and when an app is created.
/// </summary>
internal sealed partial class AppDatabaseProvisioner(
    NpgsqlDataSource platform, AppDatabaseNames names, ClaimsSigner signer, ILogger<AppDatabaseProvisioner> logger)
{
    // Roles are cluster-wide: nodes of other installations (or other test hosts) may be creating
    // the same ones at this moment. These are the errors such a race produces; a retry settles it.
    private static readonly HashSet<string> RaceStates = ["23505", "42710", "XX000", "40001", "40P01", "42P04"];

    // Nodes of one installation share the platform database, so this session lock makes them provision
    // one at a time (concurrent GRANTs and CREATE OR REPLACE FUNCTIONs fail with "tuple concurrently updated").
    private const long ProvisionLockKey = 0x15014_0003;

    /// <summary>The Supabase roles (server-wide) and the platform database's lock-out; call once at start, before any app.</summary>
    public async Task EnsureClusterAsync(CancellationToken cancellationToken)
    {
        await using var lease = await LockAsync(cancellationToken);
        await RetryRacesAsync(async () =>
        {
            await using var connection = await platform.OpenConnectionAsync(cancellationToken);
            // Supabase's attributes: NOLOGIN NOINHERIT, and service_role bypasses RLS.
            await ExecuteAsync(connection, CreateRole("anon", "nologin noinherit"), cancellationToken);
            await ExecuteAsync(connection, CreateRole("authenticated", "nologin noinherit"), cancellationToken);
            await ExecuteAsync(connection, CreateRole("service_role", "nologin noinherit bypassrls"), cancellationToken);
        }, cancellationToken);

        await RetryRacesAsync(async () =>
        {
            try
            {
                // Nothing but the platform's own user may connect to the platform database.
                await ExecuteAsync(lease, $"revoke connect, temporary on database {Quote(names.PlatformDatabase)} from public", cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
            {
                LogCannotLockPlatform(logger, names.PlatformDatabase, ex.MessageText);
            }
        }, cancellationToken);
    }

    /// <summary>Provisions every app of the platform database (existing apps on upgrade).</summary>
    public async Task EnsureAllAsync(CancellationToken cancellationToken)
    {
        var apps = new List<string>();
        await using (var command = platform.CreateCommand("select id from isola.apps order by id"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                apps.Add(reader.GetString(0));
            }
        }

        foreach (var app in apps)
        {
            await EnsureAppAsync(app, cancellationToken);
        }
    }

    /// <summary>Creates the app's database and owner if missing, then (re)applies its setup.</summary>
    public async Task EnsureAppAsync(string appId, CancellationToken cancellationToken)
    {
        var database = names.Database(appId);
        var owner = names.Owner(appId);
        var created = false;
        await using var connection = await LockAsync(cancellationToken);
        await RetryRacesAsync(async () =>
        {
            // INHERIT: the owner holds the public schema through pg_database_owner, which NOINHERIT would cut off.
            await ExecuteAsync(connection, CreateRole(owner, "nologin inherit"), cancellationToken);
            foreach (var (login, member) in new[]
            {
                (names.LoginRole(appId, DbRole.Anon), "anon"),
                (names.LoginRole(appId, DbRole.Authenticated), "authenticated"),
                (names.LoginRole(appId, DbRole.Service), "service_role"),
                (names.Migrator(appId), owner),
            })
            {
                await ExecuteAsync(connection, CreateRole(login, "login noinherit"), cancellationToken);
                await ExecuteAsync(connection,
                    $"alter role {Quote(login)} with login noinherit nosuperuser nocreatedb nocreaterole nobypassrls password '{signer.LoginPassword(login)}'",
                    cancellationToken);
                // One login per role: a login that is a member of all three could SET ROLE service_role from anon's SQL.
                await ExecuteAsync(connection, $"grant {Quote(member)} to {Quote(login)}", cancellationToken);
            }

            await using var exists = new NpgsqlCommand("select 1 from pg_database where datname = $1", connection);
            exists.Parameters.Add(new NpgsqlParameter { Value = database });
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                // CREATE DATABASE cannot run in a transaction block; a concurrent creator makes it 42P04, retried as a race.
                await ExecuteAsync(connection, $"create database {Quote(database)} owner {Quote(owner)} template template0 encoding 'UTF8'", cancellationToken);
                created = true;
            }

            await ExecuteAsync(connection, $"""
                revoke all on database {Quote(database)} from public;
                grant connect on database {Quote(database)} to {string.Join(", ", names.Logins(appId).Select(Quote))}
                """, cancellationToken);
        }, cancellationToken);

        var builder = new NpgsqlConnectionStringBuilder(platform.ConnectionString) { Database = database, Pooling = false };
        await using (var app = new NpgsqlConnection(builder.ConnectionString))
        {
            await app.OpenAsync(cancellationToken);
            await using var transaction = await app.BeginTransactionAsync(cancellationToken);
            await ExecuteAsync(app, SetupSql(appId), cancellationToken);
            var (inner, outer) = signer.Pads(database);
            await using var key = new NpgsqlCommand("""
                insert into auth.claims_key (id, inner_pad, outer_pad) values (1, $1, $2)
                on conflict (id) do update set inner_pad = excluded.inner_pad, outer_pad = excluded.outer_pad
                """, app, transaction);
            key.Parameters.Add(new NpgsqlParameter { Value = inner });
            key.Parameters.Add(new NpgsqlParameter { Value = outer });
            await key.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        if (created)
        {
            LogCreated(logger, appId, database);
        }
    }

    /// <summary>
    /// Runs as the admin inside the app database. Objects are created as the owner (SET ROLE), so
    /// migrations, which run as the owner, can change them; the tracking table belongs to the migrator.
    /// </summary>
    private string SetupSql(string appId)
    {
        var owner = Quote(names.Owner(appId));
        var migrator = Quote(names.Migrator(appId));
        var logins = string.Join(", ", new[] { DbRole.Anon, DbRole.Authenticated, DbRole.Service }
            .Select(role => "'" + names.LoginRole(appId, role) + "'"));
        return $"""
            create schema if not exists isola_migrations authorization {migrator};
            create table if not exists isola_migrations.schema_migrations (
                name text primary key,
                checksum text not null,
                applied_at timestamptz not null default now()
            );
            alter table isola_migrations.schema_migrations owner to {migrator};
            revoke all on schema isola_migrations from public;

            create schema if not exists auth authorization {owner};
            create schema if not exists isola_live authorization {owner};
            set local role {owner};

            -- The key of the claims signature (ClaimsSigner). No grant: only the owner, and the
            -- security-definer auth.jwt() below, read it.
            create table if not exists auth.claims_key (
                id int primary key check (id = 1),
                inner_pad bytea not null,
                outer_pad bytea not null
            );
            revoke all on auth.claims_key from public;

            -- Supabase's auth.jwt(), plus a check: on the host's own connections the claims must carry
            -- the host's signature, so SQL that calls set_config('request.jwt.claims', …) gets an error
            -- instead of another user's rows. Operators in psql (other session users) set claims freely.
            create or replace function auth.jwt() returns jsonb
                language plpgsql stable security definer set search_path = ''
            as $$
            declare
                claims text := nullif(current_setting('request.jwt.claims', true), '');
                pads record;
            begin
                if session_user::text in ({logins}) then
                    if claims is null then
                        return null;
                    end if;
                    select inner_pad, outer_pad into pads from auth.claims_key where id = 1;
                    if pads is null or coalesce(current_setting('request.jwt.claims_sig', true), '') <>
                        encode(sha256(pads.outer_pad || sha256(pads.inner_pad || convert_to(claims, 'UTF8'))), 'hex') then
                        raise exception 'request.jwt.claims was changed inside the transaction; only the host sets them'
                            using errcode = '42501';
                    end if;
                end if;
                return claims::jsonb;
            end
            $$;

            -- As Supabase defines them (auth.uid() is null when sub is not a uuid rather than an error).
            create or replace function auth.uid() returns uuid language sql stable as $$
                select case when (auth.jwt() ->> 'sub') ~* '{UuidPattern}'
                    then (auth.jwt() ->> 'sub')::uuid end
            $$;
            create or replace function auth.role() returns text language sql stable as $$
                select auth.jwt() ->> 'role'
            $$;
            create or replace function auth.email() returns text language sql stable as $$
                select auth.jwt() ->> 'email'
            $$;

            -- Live queries (decision 024): a statement that changes a table some live query read tells every node,
            -- by a NOTIFY PostgreSQL sends when (and only if) its transaction commits, one per table and transaction.
            -- The trigger is put on a table the first time a live query reads it (Realtime/LiveQueries/ChangeTriggers).
            create or replace function isola_live.changed() returns trigger language plpgsql as $$
            begin
                perform pg_notify('isola_live', tg_table_schema || '.' || tg_table_name);
                return null;
            end
            $$;
            grant usage on schema isola_live to anon, authenticated, service_role;
            grant execute on function isola_live.changed() to anon, authenticated, service_role;

            grant usage on schema auth to anon, authenticated, service_role;
            grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email() to anon, authenticated, service_role;

            -- Supabase's defaults: everything migrations create in public is reachable by the three
            -- roles, and row-level security decides.
            grant usage on schema public to anon, authenticated, service_role;
            alter default privileges for role {owner} in schema public grant all on tables to anon, authenticated, service_role;
            alter default privileges for role {owner} in schema public grant all on sequences to anon, authenticated, service_role;
            alter default privileges for role {owner} in schema public grant all on routines to anon, authenticated, service_role;
            reset role;
            """;
    }

    // Outside the interpolated SQL, where its braces would be holes.
    private const string UuidPattern = "^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$";

    /// <summary>A platform connection holding the provisioning lock until it is disposed (closing releases it).</summary>
    private async Task<NpgsqlConnection> LockAsync(CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(platform.ConnectionString) { Pooling = false };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await ExecuteAsync(connection, $"select pg_advisory_lock({ProvisionLockKey})", cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static string CreateRole(string name, string attributes) =>
        $"do $$ begin create role {Quote(name)} {attributes}; exception when duplicate_object or unique_violation then null; end $$";

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task RetryRacesAsync(Func<Task> action, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await action();
                return;
            }
            catch (PostgresException ex) when (attempt < 5 && RaceStates.Contains(ex.SqlState))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), cancellationToken);
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.AppDatabaseCreated, Level = LogLevel.Information, Message = "Created database {Database} for app {App}")]
    private static partial void LogCreated(ILogger logger, string app, string database);

    [LoggerMessage(EventId = LogEvents.PlatformDatabaseNotLocked, Level = LogLevel.Warning, Message = "Could not revoke CONNECT on the platform database {Database} from PUBLIC ({Reason}); do it as its owner, or app roles can connect to it")]
    private static partial void LogCannotLockPlatform(ILogger logger, string database, string reason);
}

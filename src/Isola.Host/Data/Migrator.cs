using System.Reflection;
using System.Text.RegularExpressions;
using Isola.Host.Observability;
using Npgsql;

namespace Isola.Host.Data;

/// <summary>
/// Applies the embedded <c>Data/Migrations/NNNN_name.sql</c> files in order, all in one transaction
/// under a transaction-scoped advisory lock, so nodes starting together on one database migrate
/// exactly once and a failed migration leaves nothing behind.
/// </summary>
internal sealed partial class Migrator(NpgsqlDataSource dataSource, ILogger logger)
{
    // Arbitrary but fixed: every node must contend for the same lock.
    private const long AdvisoryLockKey = 0x15014_0001;

    public sealed record Migration(int Version, string Name, string Sql);

    public static IReadOnlyList<Migration> LoadEmbedded()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var match = MigrationName().Match(resource);
            if (!match.Success)
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new Migration(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups[2].Value, reader.ReadToEnd()));
        }

        return [.. migrations.OrderBy(m => m.Version)];
    }

    /// <summary>Returns the versions this call applied (empty when another node got there first).</summary>
    public async Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken)
    {
        var migrations = LoadEmbedded();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await Execute(connection, $"select pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken);
        await Execute(connection, """
            create schema if not exists isola;
            create table if not exists isola.schema_migrations (
                version int primary key,
                name text not null,
                applied_at timestamptz not null default now()
            );
            """, cancellationToken);

        var applied = new HashSet<int>();
        await using (var select = new NpgsqlCommand("select version from isola.schema_migrations", connection))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        var newlyApplied = new List<int>();
        foreach (var migration in migrations.Where(m => !applied.Contains(m.Version)))
        {
            await Execute(connection, migration.Sql, cancellationToken);
            await using var record = new NpgsqlCommand("insert into isola.schema_migrations (version, name) values ($1, $2)", connection);
            record.Parameters.Add(new NpgsqlParameter { Value = migration.Version });
            record.Parameters.Add(new NpgsqlParameter { Value = migration.Name });
            await record.ExecuteNonQueryAsync(cancellationToken);
            newlyApplied.Add(migration.Version);
            LogApplied(logger, migration.Version, migration.Name);
        }

        await transaction.CommitAsync(cancellationToken);
        return newlyApplied;
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [GeneratedRegex(@"^migrations/(\d{4})_(.+)\.sql$")]
    private static partial Regex MigrationName();

    [LoggerMessage(EventId = LogEvents.MigrationApplied, Level = LogLevel.Information, Message = "Applied migration {Version:0000} {Name}")]
    private static partial void LogApplied(ILogger logger, int version, string name);
}

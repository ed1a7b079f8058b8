using System.Collections.Concurrent;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Observability;
using Npgsql;

namespace Isola.Host.Realtime.LiveQueries;

/// <summary>
/// Puts the change trigger on the tables live queries read (decision 024): <c>isola_live</c>, after each
/// insert, update, delete or truncate statement, runs <c>isola_live.changed()</c>, whose NOTIFY PostgreSQL delivers to
/// every listening node when the transaction commits. Added once per table, as the app's owner (through the migrator
/// login, as migrations run), and left in place: from then on every write statement to that table pays for it.
/// </summary>
internal sealed partial class ChangeTriggers(AppDatabases databases, ILogger<ChangeTriggers> logger)
{
    public const string TriggerName = "isola_live";

    // Tables known to carry the trigger, per app ("schema.table").
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> _done = new(StringComparer.Ordinal);

    /// <summary>Makes sure each table has the trigger; true when one had to be added (a change before it went unseen).</summary>
    public async Task<bool> EnsureAsync(string appId, IReadOnlySet<string> tables, CancellationToken cancellationToken)
    {
        var done = _done.GetOrAdd(appId, _ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal));
        var missing = tables.Where(table => !done.ContainsKey(table)).ToList();
        if (missing.Count == 0)
        {
            return false;
        }

        var added = false;
        await using var connection = await databases.Migrator(appId).OpenConnectionAsync(cancellationToken);
        foreach (var table in missing)
        {
            var dot = table.IndexOf('.', StringComparison.Ordinal);
            var qualified = AppDatabaseNames.Quote(table[..dot]) + "." + AppDatabaseNames.Quote(table[(dot + 1)..]);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            try
            {
                await using (var role = new NpgsqlCommand($"set local role {AppDatabaseNames.Quote(databases.Names.Owner(appId))}", connection, transaction))
                {
                    await role.ExecuteNonQueryAsync(cancellationToken);
                }

                await using var command = new NpgsqlCommand($"select exists (select 1 from pg_trigger where tgrelid = $1::regclass and tgname = '{TriggerName}')", connection, transaction);
                command.Parameters.Add(new NpgsqlParameter { Value = qualified });
                var exists = await command.ExecuteScalarAsync(cancellationToken) is true;
                if (!exists)
                {
                    await using var create = new NpgsqlCommand(
                        $"create trigger {TriggerName} after insert or update or delete or truncate on {qualified} for each statement execute function isola_live.changed()",
                        connection, transaction);
                    await create.ExecuteNonQueryAsync(cancellationToken);
                    added = true;
                    LogAdded(logger, appId, table);
                }

                await transaction.CommitAsync(cancellationToken);
                done[table] = 0;
            }
            catch (PostgresException ex)
            {
                // Not ours to change (a view, a table another role owns): live queries over it update only on
                // changes to the other tables they read, and the log says so once.
                await transaction.RollbackAsync(CancellationToken.None);
                done[table] = 0;
                LogNotAdded(logger, appId, table, ex.MessageText);
            }
        }

        return added;
    }

    [LoggerMessage(EventId = LogEvents.LiveTriggerAdded, Level = LogLevel.Information, Message = "Live queries: app {App} now tracks changes to {Table}")]
    private static partial void LogAdded(ILogger logger, string app, string table);

    [LoggerMessage(EventId = LogEvents.LiveTriggerNotAdded, Level = LogLevel.Warning, Message = "Live queries: cannot track changes to {Table} of app {App} ({Reason}); queries reading it are not re-run when it changes")]
    private static partial void LogNotAdded(ILogger logger, string app, string table, string reason);
}

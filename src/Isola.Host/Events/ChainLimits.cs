using Isola.Host.Deliveries;
using Npgsql;

namespace Isola.Host.Events;

/// <summary>An app's event chain limit (<c>isola.apps.event_chain_limit</c>): how deep events emitted while handling events may go.</summary>
internal sealed class ChainLimits(NpgsqlDataSource dataSource, DeliveryOptions options)
{
    /// <summary>The highest limit an app may set.</summary>
    public const int Max = 100;

    /// <summary>The app's limit (the default when it set none); null when the app does not exist.</summary>
    public async Task<int?> GetAsync(string appId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select coalesce(event_chain_limit, $2) from isola.apps where id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        command.Parameters.Add(new NpgsqlParameter { Value = options.DefaultChainLimit });
        return await command.ExecuteScalarAsync(cancellationToken) is int limit ? limit : null;
    }

    /// <summary>Sets the app's limit (null restores the default); false when the app does not exist.</summary>
    public async Task<bool> SetAsync(string appId, int? limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("update isola.apps set event_chain_limit = $2 where id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)limit ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }
}

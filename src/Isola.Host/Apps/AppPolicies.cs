using System.Collections.Concurrent;
using Isola.Host.Errors;
using Npgsql;

namespace Isola.Host.Apps;

/// <summary>
/// An app's strict-policies setting (R4): on (the default), a typed function's <c>ctx.db</c> acts as its caller under
/// row-level security; off, as service_role. Read per call from a copy at most a few seconds old, so a change
/// reaches this node at once and the others within <see cref="FreshFor"/>.
/// </summary>
internal sealed class AppPolicies(NpgsqlDataSource dataSource, TimeProvider time)
{
    public static readonly TimeSpan FreshFor = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, (bool Strict, DateTimeOffset ReadAt)> _strict = new(StringComparer.Ordinal);

    public async ValueTask<bool> IsStrictAsync(string appId, CancellationToken cancellationToken)
    {
        if (_strict.TryGetValue(appId, out var known) && time.GetUtcNow() - known.ReadAt < FreshFor)
        {
            return known.Strict;
        }

        await using var command = dataSource.CreateCommand("select strict_policies from isola.apps where id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        var strict = await command.ExecuteScalarAsync(cancellationToken) is not false; // an app gone meanwhile: the safe answer
        _strict[appId] = (strict, time.GetUtcNow());
        return strict;
    }

    /// <summary>Sets it; throws 404 APP_NOT_FOUND for an app that does not exist.</summary>
    public async Task SetStrictAsync(string appId, bool strict, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("update isola.apps set strict_policies = $2 where id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        command.Parameters.Add(new NpgsqlParameter { Value = strict });
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            throw IsolaException.NotFound(ErrorCodes.AppNotFound, $"app '{appId}' does not exist");
        }

        _strict[appId] = (strict, time.GetUtcNow());
    }
}

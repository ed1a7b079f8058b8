namespace Isola.Host.Data.AppDatabases;

/// <summary>Limits of SQL run against app databases (functions' ctx.db and <c>/v1/{app}/db/query</c>).</summary>
internal sealed record DataOptions
{
    /// <summary>
    /// Largest result one statement may return, counted while rows are read (strings by length, bytea
    /// by its base64 length, 8 bytes per number); past it the statement is cancelled in PostgreSQL
    /// and the caller gets <c>RESULT_TOO_LARGE</c>. A single row is read whole before it is counted.
    /// </summary>
    public long MaxResultBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>Connections per app and role (anon, authenticated, service_role); callers beyond it wait.</summary>
    public int MaxPoolSizePerRole { get; init; } = 10;

    /// <summary>Time an operator's <c>/db/query</c> statement may run, from when it is received until its result is read.</summary>
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time one migration may run, from its BEGIN to its COMMIT.</summary>
    public TimeSpan MigrationTimeout { get; init; } = TimeSpan.FromMinutes(5);
}

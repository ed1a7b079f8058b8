namespace Isola.Host.Data.AppDatabases;

/// <summary>Why app SQL did not produce a result; the API (and later ctx.db) decide what the caller sees.</summary>
internal sealed class SqlExecutionException(SqlFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public SqlFailure Failure { get; } = failure;

    /// <summary>PostgreSQL's SQLSTATE, when PostgreSQL refused the statement.</summary>
    public string? SqlState { get; init; }

    public string? Detail { get; init; }

    public string? Hint { get; init; }

    /// <summary>1-based character position in the SQL the caller sent, when PostgreSQL reports one.</summary>
    public int? Position { get; init; }
}

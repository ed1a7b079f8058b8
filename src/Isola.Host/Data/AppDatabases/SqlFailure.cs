namespace Isola.Host.Data.AppDatabases;

/// <summary>What went wrong running app SQL.</summary>
internal enum SqlFailure
{
    /// <summary>PostgreSQL refused or failed the statement (syntax, permission, constraint, RLS...).</summary>
    Statement,

    /// <summary>The deadline passed; the statement was cancelled in PostgreSQL.</summary>
    Timeout,

    /// <summary>The result passed <see cref="DataOptions.MaxResultBytes"/>; the statement was cancelled.</summary>
    ResultTooLarge,

    /// <summary>PostgreSQL could not be reached or dropped the connection.</summary>
    Unavailable,
}

namespace Isola.Cli;

/// <summary>What the CLI's exit status means (docs/cli.md, "Exit codes").</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The operation failed: the API refused it, a function answered an error, a project folder is wrong.</summary>
    public const int Failed = 1;

    /// <summary>The command line itself is wrong: unknown verb or flag, a missing argument.</summary>
    public const int Usage = 2;

    /// <summary>No node answered at the URL.</summary>
    public const int Unreachable = 3;
}

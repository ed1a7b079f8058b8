namespace Isola.Cli;

/// <summary>A failure the CLI explains in one line itself (a bad project folder, a missing file); never a stack trace.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Failed) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

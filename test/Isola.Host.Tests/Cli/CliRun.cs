namespace Isola.Host.Tests.Cli;

/// <summary>One run of the CLI as a separate process: its exit code and what it printed on each stream.</summary>
internal sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";

    /// <summary>Asserts exit 0 and returns stdout.</summary>
    public string Ok()
    {
        Assert.True(ExitCode == 0, ToString());
        return Stdout;
    }

    /// <summary>Asserts <paramref name="exitCode"/> and a single-line error on stderr, never a stack trace; returns stderr.</summary>
    public string Fails(int exitCode)
    {
        Assert.True(ExitCode == exitCode, ToString());
        Assert.StartsWith("isola: ", Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", Stderr, StringComparison.Ordinal);
        return Stderr;
    }
}

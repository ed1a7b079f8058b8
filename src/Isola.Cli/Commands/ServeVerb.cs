using System.CommandLine;

namespace Isola.Cli.Commands;

/// <summary>
/// Listed so help shows it; the <c>./isola</c> script runs <c>serve</c> itself (it installs PostgreSQL and Deno
/// and builds the host first), so reaching this means the CLI was started some other way.
/// </summary>
internal static class ServeVerb
{
    public static Command Create()
    {
        var command = new Command("serve", "Start a node (run as ./isola serve: it provisions and builds first; docs/running.md)")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        return command.WithAction((_, _) => throw new CliException("start a node with the ./isola script at the repository root: ./isola serve", ExitCodes.Usage));
    }
}

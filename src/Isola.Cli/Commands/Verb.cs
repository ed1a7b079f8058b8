using System.CommandLine;

namespace Isola.Cli.Commands;

/// <summary>Wires a verb's action: a <see cref="CliContext"/> in, an exit code out; failures become one line in <see cref="Program"/>.</summary>
internal static class Verb
{
    public static Command WithAction(this Command command, Func<CliContext, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var context = new CliContext(parse);
            return await action(context, cancellationToken);
        });
        return command;
    }
}

using System.CommandLine;
using Isola.Cli.Commands;
using Isola.Cli.Output;
using Isola.Client;

namespace Isola.Cli;

/// <summary>
/// The <c>isola</c> command line for every verb but <c>serve</c> (which the <c>./isola</c> script hands to the
/// host after provisioning). Talks to a node through <see cref="IsolaClient"/>; every failure is one line on
/// stderr with the API's code and message, and an exit code from <see cref="ExitCodes"/>.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = Verbs.Root();
        if (args.Length == 0)
        {
            await root.Parse(["--help"]).InvokeAsync();
            return ExitCodes.Usage;
        }

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // "Required command was not provided" only repeats what an unknown verb's own error says.
            var errors = parse.Errors.Count > 1 && parse.CommandResult.Parent is null ? parse.Errors.Skip(1) : parse.Errors;
            foreach (var error in errors)
            {
                Terminal.Error(error.Message);
            }

            Terminal.Error($"see '{string.Join(' ', CommandPath(parse).Prepend("isola"))} --help'");
            return ExitCodes.Usage;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                // Ctrl+C cancels the verb's token; 'dev' then stops its node (and PostgreSQL), which takes longer than the default 2 s.
                ProcessTerminationTimeout = TimeSpan.FromSeconds(40),
            });
        }
        catch (IsolaApiException ex)
        {
            Terminal.Error(ApiError(ex));
            return ExitCodes.Failed;
        }
        catch (CliException ex)
        {
            Terminal.Error(ex.Message);
            return ex.ExitCode;
        }
        catch (HttpRequestException ex)
        {
            Terminal.Error($"cannot reach the node: {ex.Message} (is './isola serve' running? set --url or ISOLA_URL)");
            return ExitCodes.Unreachable;
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Ok; // Ctrl+C, e.g. ending 'logs -f'
        }
    }

    /// <summary><c>CODE: message</c>, with the field when the API named one.</summary>
    public static string ApiError(IsolaApiException ex) =>
        ex.Field is { } field && !ex.Message.Contains(field, StringComparison.Ordinal)
            ? $"{ex.Code}: {ex.Message} (field {field})"
            : $"{ex.Code}: {ex.Message}";

    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new Stack<string>();
        for (var result = parse.CommandResult; result.Parent is System.CommandLine.Parsing.CommandResult parent; result = parent)
        {
            names.Push(result.Command.Name);
        }

        return names;
    }
}

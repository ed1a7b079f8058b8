using System.CommandLine;
using Isola.Cli.Types;

namespace Isola.Cli.Commands;

/// <summary><c>isola types generate [--out f]</c>: TypeScript declarations of the app's functions for <c>@isola/client</c>.</summary>
internal static class TypesVerb
{
    public static Command Create()
    {
        var output = new Option<string?>("--out", "-o") { Description = "Write to this file (default: print)" };
        var generate = new Command("generate", "Write a .d.ts of the app's functions (names, typed functions' args and results) for @isola/client") { output };
        generate.WithAction(async (context, cancellationToken) =>
        {
            var functions = await context.Client.Functions.ListAsync(cancellationToken);
            var declarations = DeclarationWriter.Write(functions, context.Target.App, context.Target.Url);
            if (context.Get(output) is not { } path)
            {
                Console.Out.Write(declarations);
                return ExitCodes.Ok;
            }

            var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
            if (!Directory.Exists(directory))
            {
                throw new CliException($"the folder {directory} does not exist");
            }

            await File.WriteAllTextAsync(path, declarations, cancellationToken);
            var (plain, typed) = DeclarationWriter.Count(functions);
            context.Terminal.Line($"wrote {path}: {plain} function name{(plain == 1 ? "" : "s")}, {typed} typed function{(typed == 1 ? "" : "s")}");
            return ExitCodes.Ok;
        });
        return new Command("types", "TypeScript types for the JS client") { generate };
    }
}

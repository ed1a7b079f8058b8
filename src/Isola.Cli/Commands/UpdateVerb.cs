using System.CommandLine;
using System.Text.Json;
using Isola.Cli.Project;
using Isola.Client;

namespace Isola.Cli.Commands;

/// <summary><c>isola update NAME [FILE] [--methods …]</c>: new code and/or settings as a new version (MolnOS's <c>functions update</c>).</summary>
internal static class UpdateVerb
{
    public static Command Create()
    {
        var name = FunctionVerbs.NameArgument();
        var file = new Argument<string?>("file") { Description = "New code, from this file", Arity = ArgumentArity.ZeroOrOne };
        var flags = new DeployFlags();
        var command = new Command("update", "Update a function's code or settings (a new version)") { name, file };
        flags.AddTo(command);
        return command.WithAction(async (context, cancellationToken) =>
        {
            var deployment = new FunctionDeployment { Settings = flags.Settings(context) };
            if (context.Get(file) is { } path)
            {
                deployment.Code = File.Exists(path) ? await File.ReadAllTextAsync(path, cancellationToken) : throw new CliException($"{path} does not exist");
            }

            if (context.Get(flags.EnvFile) is { } envFile)
            {
                deployment.Settings["envVars"] = JsonSerializer.SerializeToNode(DotEnv.Read(envFile));
            }

            if (deployment.Code is null && deployment.Settings.Count == 0)
            {
                throw new CliException("nothing to update: give a file or a flag such as --methods", ExitCodes.Usage);
            }

            var result = await context.Client.Functions.UpdateAsync(context.Get(name), deployment, cancellationToken);
            if (context.Json)
            {
                context.Terminal.WriteJson(result);
            }
            else
            {
                context.Terminal.Markup($"[green]updated[/] {Spectre.Console.Markup.Escape(result.Name)} to version {result.Version}");
            }

            return ExitCodes.Ok;
        });
    }
}

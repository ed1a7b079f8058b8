using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Cli.Project;
using Isola.Client;

namespace Isola.Cli.Commands;

/// <summary>
/// <c>isola deploy [name]</c>: every function of the project folder whose content changed (or one), creating or
/// updating each; <c>isola deploy NAME FILE</c> deploys one file as MolnOS's <c>functions deploy</c> does.
/// </summary>
internal static partial class DeployVerb
{
    public static readonly Option<string> ProjectDir = new("--project-dir", "--workdir")
    {
        Description = "The project folder (default: the current folder)",
        DefaultValueFactory = _ => ".",
    };

    public static Command Create()
    {
        var name = new Argument<string?>("name") { Description = "Deploy only this function", Arity = ArgumentArity.ZeroOrOne };
        var file = new Argument<string?>("file") { Description = "Deploy this one file as the function NAME (MolnOS form)", Arity = ArgumentArity.ZeroOrOne };
        var force = new Option<bool>("--force") { Description = "Deploy even the functions that did not change" };
        var flags = new DeployFlags();
        var command = new Command("deploy", "Deploy the project folder's functions (only those that changed), or one") { name, file, force, ProjectDir };
        flags.AddTo(command);
        return command.WithAction(async (context, cancellationToken) =>
        {
            var overrides = flags.Settings(context);
            var envFile = context.Get(flags.EnvFile) is { } path ? DotEnv.Read(path) : null;
            if (context.Get(file) is { } single)
            {
                return await DeployFileAsync(context, context.Get(name)!, single, overrides, envFile, cancellationToken);
            }

            var project = ProjectFolder.Detect(context.Get(ProjectDir));
            var functions = project.Load(context.Get(name), overrides, envFile);
            return await DeployProjectAsync(context, project, functions, context.Get(force), reportSkipped: true, cancellationToken);
        });
    }

    /// <summary>Deploys those of <paramref name="functions"/> whose content changed (all with <paramref name="force"/>); <c>isola dev</c> reloads with it too.</summary>
    internal static async Task<int> DeployProjectAsync(CliContext context, ProjectFolder project, IReadOnlyList<LocalFunction> functions, bool force,
        bool reportSkipped, CancellationToken cancellationToken)
    {
        var target = context.Target;
        var remote = (await context.Client.Functions.ListAsync(cancellationToken)).ToDictionary(f => f.Name, StringComparer.Ordinal);
        var state = DeployState.Load(project.Root);
        var deployed = new JsonArray();
        var skipped = new JsonArray();
        var failed = new JsonArray();
        foreach (var function in functions)
        {
            var hash = function.ContentHash;
            var existing = remote.GetValueOrDefault(function.Name);
            var last = state.Find(target.Url, target.App, function.Name);
            if (!force && existing is not null && last is not null && last.Hash == hash && last.Id == existing.Id && last.Version == existing.Version)
            {
                skipped.Add(function.Name);
                if (!context.Json && reportSkipped)
                {
                    context.Terminal.Markup($"[grey]skipped[/] {Escape(function.Name)}: unchanged since version {existing.Version}");
                }

                continue;
            }

            try
            {
                var result = await context.Terminal.StatusAsync($"deploying {function.Name}…", () => existing is null
                    ? context.Client.Functions.DeployAsync(function.Name, function.ToDeployment(), cancellationToken)
                    : context.Client.Functions.UpdateAsync(function.Name, function.ToDeployment(), cancellationToken));
                state.Record(target.Url, target.App, function.Name, new DeployState.Entry(hash, result.Id, result.Version));
                state.Save(); // after each one: a later failure must not make this one deploy again
                deployed.Add(new JsonObject { ["name"] = result.Name, ["version"] = result.Version, ["endpoint"] = result.Endpoint });
                if (!context.Json)
                {
                    context.Terminal.Markup($"[green]deployed[/] {Escape(result.Name)} version {result.Version}{(result.Endpoint is { } url ? $" → {Escape(url)}" : "")}");
                }
            }
            catch (IsolaApiException ex)
            {
                var message = ex.Code == "BUILD_FAILED" ? BuildErrorInProject(project, function, ex.Message) : ex.Message;
                failed.Add(new JsonObject { ["name"] = function.Name, ["code"] = ex.Code, ["message"] = message });
                // A failed update changes nothing on the node: the version it had goes on serving.
                var serving = existing is null ? "" : $" (version {existing.Version} keeps serving)";
                Output.Terminal.Error($"{function.Name}: {ex.Code}: {message}{serving}");
            }
        }

        if (context.Json)
        {
            context.Terminal.WriteJson(new JsonObject { ["deployed"] = deployed, ["skipped"] = skipped, ["failed"] = failed });
        }
        else if (skipped.Count > 0)
        {
            context.Terminal.Line($"{deployed.Count} deployed, {skipped.Count} skipped (unchanged: {string.Join(", ", skipped.Select(n => n!.GetValue<string>()))})");
        }

        return failed.Count == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static async Task<int> DeployFileAsync(CliContext context, string name, string file, JsonObject overrides, Dictionary<string, string>? env,
        CancellationToken cancellationToken)
    {
        if (!File.Exists(file))
        {
            throw new CliException($"{file} does not exist");
        }

        var deployment = new FunctionDeployment { Code = await File.ReadAllTextAsync(file, cancellationToken), Settings = overrides };
        if (env is not null)
        {
            deployment.Settings["envVars"] = JsonSerializer.SerializeToNode(env);
        }

        FunctionInfo result;
        try
        {
            result = await context.Client.Functions.DeployAsync(name, deployment, cancellationToken);
        }
        catch (IsolaApiException ex) when (ex.Code == "FUNCTION_EXISTS")
        {
            result = await context.Client.Functions.UpdateAsync(name, deployment, cancellationToken);
        }

        if (context.Json)
        {
            context.Terminal.WriteJson(result);
        }
        else
        {
            context.Terminal.Markup($"[green]deployed[/] {Escape(result.Name)} version {result.Version}{(result.Endpoint is { } url ? $" → {Escape(url)}" : "")}");
        }

        return ExitCodes.Ok;
    }

    /// <summary>
    /// The node names a build error's place relative to the function (<c>index.ts:3:7</c>); from the project it is
    /// <c>functions/hello/index.ts:3:7</c>, a path an editor or terminal can open.
    /// </summary>
    internal static string BuildErrorInProject(ProjectFolder project, LocalFunction function, string message) =>
        BuildErrorPlace().Replace(message, match =>
            match.Groups["before"].Value + project.Relative(Path.GetFullPath(Path.Combine(function.Folder, match.Groups["path"].Value))).Replace('\\', '/') +
            match.Groups["place"].Value, 1);

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<before>^build failed: )(?<path>[^\s:]+)(?<place>:\d+:\d+: )")]
    private static partial System.Text.RegularExpressions.Regex BuildErrorPlace();

    private static string Escape(string text) => Spectre.Console.Markup.Escape(text);
}

using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Isola.Cli.Connection;
using Isola.Cli.Dev;
using Isola.Cli.Project;
using Isola.Client;

namespace Isola.Cli.Commands;

/// <summary>
/// <c>isola dev [--project-dir d] [--port N] [--inspect NAME]</c>: starts a node for the project (the host as a child
/// process, data in <c>.isola/</c>), deploys the folder, then redeploys each function whose files change, and prints
/// every function's console output as it happens (the node's <c>/logs/stream</c>). Cron triggers fire as on any node;
/// with <c>--inspect</c>, NAME's worker listens for a V8 debugger. Runs until Ctrl+C, then stops the node.
/// </summary>
internal static class DevVerb
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "The node's port (0 picks a free one)", DefaultValueFactory = _ => 8787 };
        var inspect = new Option<string?>("--inspect") { Description = "Start this function's worker with the V8 inspector on 127.0.0.1 (chrome://inspect)" };
        var inspectPort = new Option<int>("--inspect-port") { Description = "The inspector's port", DefaultValueFactory = _ => 9229 };
        var flags = new DeployFlags();
        var command = new Command("dev", "Run a local node for the project folder: deploy, redeploy on save, stream console output")
        {
            DeployVerb.ProjectDir, port, inspect, inspectPort,
        };
        flags.AddTo(command);
        return command.WithAction(async (context, cancellationToken) =>
        {
            var overrides = flags.Settings(context);
            var envFile = context.Get(flags.EnvFile) is { } path ? DotEnv.Read(path) : null;
            var project = ProjectFolder.Detect(context.Get(DeployVerb.ProjectDir));
            var functions = project.Load(null, overrides, envFile); // a folder with nothing to run fails before a node starts

            var settings = new Dictionary<string, string>(StringComparer.Ordinal);
            var defaults = new Dictionary<string, string>(StringComparer.Ordinal);
            if (context.Get(inspect) is { } inspected)
            {
                if (functions.All(f => f.Name != inspected))
                {
                    throw new CliException($"--inspect {inspected}: no such function in {project.Relative(project.FunctionsDir)} (there are: {string.Join(", ", functions.Select(f => f.Name))})",
                        ExitCodes.Usage);
                }

                settings["ISOLA_WORKER_INSPECT"] = inspected;
                settings["ISOLA_WORKER_INSPECT_PORT"] = context.Get(inspectPort).ToString(CultureInfo.InvariantCulture);
                // A debugging session should not end because the worker sat idle for a minute.
                defaults["ISOLA_WORKER_IDLE_TIMEOUT"] = "1h";
            }

            context.Terminal.Line($"starting a node for {project.Root} …");
            await using var node = await DevNode.StartAsync(Path.Combine(project.Root, ".isola"), context.Get(port), settings, defaults, cancellationToken);
            var app = context.Parse.GetValue(GlobalOptions.App) ?? "default";
            context.Connect(new Target(node.Url, node.AdminKey, app, "isola dev"));
            if (app != "default")
            {
                try
                {
                    await context.Client.Apps.CreateAsync(app, cancellationToken);
                }
                catch (IsolaApiException ex) when (ex.Code == "APP_EXISTS")
                {
                }
            }

            using var stopLogs = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var logs = ConsoleOutput.FollowAsync(context, stopLogs.Token);
            await DeployVerb.DeployProjectAsync(context, project, functions, force: false, reportSkipped: true, cancellationToken);
            context.Terminal.Line($"serving on {node.Url.AbsoluteUri.TrimEnd('/')} (app '{app}', key in {Path.Combine(project.Relative(project.Root), ".isola", "admin.key")}); " +
                $"watching {project.Relative(project.FunctionsDir)}/ and {Path.GetFileName(project.ConfigPath)}; Ctrl+C stops");

            if (context.Get(inspect) is { } name)
            {
                context.Terminal.Line($"inspector: {name}'s worker listens on 127.0.0.1:{context.Get(inspectPort)} from its next call " +
                    "(chrome://inspect, or ws://127.0.0.1:PORT/json/list); it is replaced on each redeploy");
            }

            using var watcher = new ProjectWatcher(project);
            while (!cancellationToken.IsCancellationRequested)
            {
                HashSet<string> changed;
                try
                {
                    changed = await watcher.NextAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                await ReloadAsync(context, project, changed, overrides, envFile, cancellationToken);
            }

            await stopLogs.CancelAsync();
            await logs;
            context.Terminal.Line("stopping the node …");
            return ExitCodes.Ok;
        });
    }

    /// <summary>Deploys the changed functions that built; a failure is printed and the watch goes on.</summary>
    private static async Task ReloadAsync(CliContext context, ProjectFolder project, HashSet<string> changed, System.Text.Json.Nodes.JsonObject overrides,
        Dictionary<string, string>? envFile, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        IReadOnlyList<LocalFunction> functions;
        try
        {
            functions = project.Load(null, overrides, envFile);
        }
        catch (CliException ex)
        {
            Output.Terminal.Error(ex.Message + " (the node keeps serving what it has)");
            return;
        }

        var selected = changed.Contains(ProjectWatcher.All) ? functions : [.. functions.Where(f => changed.Contains(f.Name))];
        if (selected.Count == 0)
        {
            return;
        }

        int exitCode;
        try
        {
            exitCode = await DeployVerb.DeployProjectAsync(context, project, selected, force: false, reportSkipped: false, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            Output.Terminal.Error($"the node did not answer: {ex.Message}");
            return;
        }
        catch (IsolaApiException ex)
        {
            Output.Terminal.Error(Program.ApiError(ex));
            return;
        }

        if (exitCode == ExitCodes.Ok)
        {
            context.Terminal.Markup(string.Create(CultureInfo.InvariantCulture, $"[grey]reloaded in {stopwatch.ElapsedMilliseconds} ms[/]"));
        }
    }
}

using System.CommandLine;
using System.Text.RegularExpressions;
using Isola.Cli.Project;

namespace Isola.Cli.Commands;

/// <summary>
/// <c>isola new NAME [--template http|typed|cron|event]</c>: a working function in the project folder, and an
/// isola.toml when there is none (in a Supabase project: <c>supabase/functions/NAME/index.ts</c>, as <c>supabase functions new</c>).
/// </summary>
internal static partial class NewVerb
{
    private static readonly string[] Templates = ["http", "typed", "cron", "event"];

    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The function's name: letters, digits, '.', '_' and '-'" };
        var template = new Option<string>("--template", "-t") { Description = "http (default), typed, cron or event", DefaultValueFactory = _ => "http" };
        template.AcceptOnlyFromAmong(Templates);
        var command = new Command("new", "Create a function from a template") { name, template, DeployVerb.ProjectDir };
        return command.WithAction((context, _) =>
        {
            var functionName = context.Get(name);
            if (!NamePattern().IsMatch(functionName))
            {
                throw new CliException($"'{functionName}' is not a function name: 1-100 of letters, digits, '.', '_' and '-', starting with a letter or digit", ExitCodes.Usage);
            }

            Directory.CreateDirectory(context.Get(DeployVerb.ProjectDir));
            var project = ProjectFolder.Detect(context.Get(DeployVerb.ProjectDir));
            var kind = context.Get(template);
            var configFragment = Resource($"{kind}/isola.toml", functionName);
            if (project.IsSupabase && configFragment is not null)
            {
                throw new CliException($"the {kind} template sets triggers in isola.toml, which a Supabase project does not have; use --template http or typed");
            }

            var folder = Path.Combine(project.FunctionsDir, functionName);
            if (Directory.Exists(folder))
            {
                throw new CliException($"{project.Relative(folder)} already exists");
            }

            Directory.CreateDirectory(folder);
            var entry = Path.Combine(folder, "index.ts");
            File.WriteAllText(entry, Resource($"{kind}/index.ts", functionName));
            var created = new List<string> { project.Relative(entry) };
            if (!project.IsSupabase)
            {
                if (!File.Exists(project.ConfigPath))
                {
                    File.WriteAllText(project.ConfigPath, Resource("project.toml", functionName));
                    created.Add(project.Relative(project.ConfigPath));
                }

                if (configFragment is not null && !ProjectConfig.Read(project.ConfigPath, supabase: false).ContainsKey(functionName))
                {
                    File.AppendAllText(project.ConfigPath, "\n" + configFragment);
                    created.Add(project.Relative(project.ConfigPath) + $" ([functions.{functionName}])");
                }
            }

            if (context.Json)
            {
                context.Terminal.WriteJson(new { name = functionName, template = kind, created });
            }
            else
            {
                foreach (var path in created)
                {
                    context.Terminal.Markup($"[green]created[/] {Spectre.Console.Markup.Escape(path)}");
                }

                context.Terminal.Line($"deploy it with: isola deploy {functionName}");
            }

            return Task.FromResult(ExitCodes.Ok);
        });
    }

    /// <summary>A template file (embedded from Templates/) with its name filled in; null when the template has no such file.</summary>
    private static string? Resource(string path, string functionName)
    {
        using var stream = typeof(NewVerb).Assembly.GetManifestResourceStream("templates/" + path);
        if (stream is null)
        {
            return null;
        }

        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Replace("__NAME__", functionName, StringComparison.Ordinal);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex NamePattern();
}

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Isola.Client;

namespace Isola.Cli.Commands;

/// <summary>Reading and managing deployed functions: list, get, config, delete, versions, rollback, stats (MolnOS's <c>functions</c> verbs).</summary>
internal static class FunctionVerbs
{
    public static Command List() => new Command("list", "List the app's functions").WithAction(async (context, cancellationToken) =>
    {
        var functions = await context.Client.Functions.ListAsync(cancellationToken);
        if (context.Json)
        {
            context.Terminal.WriteJson(new { functions, count = functions.Count });
            return ExitCodes.Ok;
        }

        if (functions.Count == 0)
        {
            context.Terminal.Line($"no functions in app '{context.Target.App}'; deploy one with 'isola deploy'");
            return ExitCodes.Ok;
        }

        context.Terminal.Table(["name", "version", "triggers", "access", "updated"],
            functions.Select(f => (IReadOnlyList<string?>)[f.Name, f.Version.ToString(CultureInfo.InvariantCulture), Triggers(f), Text(f, "access"), Time(f.UpdatedAt)]));
        return ExitCodes.Ok;
    });

    public static Command Get() => Show("get", "Show a function's metadata (no source)", withSource: false);

    public static Command Config() => Show("config", "Show a function's configuration with its source", withSource: true);

    /// <summary><c>get</c> and <c>config</c>: the same table, <c>config</c> with the source after it.</summary>
    private static Command Show(string verb, string description, bool withSource)
    {
        var name = NameArgument();
        var command = new Command(verb, description) { name };
        return command.WithAction(async (context, cancellationToken) =>
        {
            var function = withSource
                ? await context.Client.Functions.GetConfigAsync(context.Get(name), cancellationToken)
                : await context.Client.Functions.GetAsync(context.Get(name), cancellationToken);
            if (context.Json)
            {
                context.Terminal.WriteJson(function);
                return ExitCodes.Ok;
            }

            Describe(context, function);
            if (function.Code is { } code)
            {
                context.Terminal.Line("");
                context.Terminal.Line(code);
            }

            foreach (var (path, text) in function.Files ?? new Dictionary<string, string>())
            {
                context.Terminal.Line("");
                context.Terminal.Line($"── {path}{(path == function.Entrypoint ? " (entrypoint)" : "")}");
                context.Terminal.Line(text);
            }

            return ExitCodes.Ok;
        });
    }

    public static Command Delete()
    {
        var name = NameArgument();
        var command = new Command("delete", "Delete a function with all its versions") { name };
        return command.WithAction(async (context, cancellationToken) =>
        {
            await context.Client.Functions.DeleteAsync(context.Get(name), cancellationToken);
            if (context.Json)
            {
                context.Terminal.WriteJson(new { deleted = true, name = context.Get(name), app = context.Target.App });
            }
            else
            {
                context.Terminal.Markup($"[green]deleted[/] {Spectre.Console.Markup.Escape(context.Get(name))}");
            }

            return ExitCodes.Ok;
        });
    }

    public static Command Versions()
    {
        var name = NameArgument();
        var command = new Command("versions", "List a function's versions, newest first") { name };
        return command.WithAction(async (context, cancellationToken) =>
        {
            var versions = await context.Client.Functions.VersionsAsync(context.Get(name), cancellationToken);
            if (context.Json)
            {
                context.Terminal.WriteJson(versions);
                return ExitCodes.Ok;
            }

            context.Terminal.Table(["version", "current", "created", "artifact"], versions.GetProperty("versions").EnumerateArray().Select(v => (IReadOnlyList<string?>)
            [
                v.GetProperty("version").GetInt32().ToString(CultureInfo.InvariantCulture),
                v.GetProperty("current").GetBoolean() ? "*" : "",
                Time(v.GetProperty("createdAt").GetDateTimeOffset()),
                v.GetProperty("artifact").GetProperty("hash").GetString()?.Replace("sha256:", "", StringComparison.Ordinal)[..12],
            ]));
            return ExitCodes.Ok;
        });
    }

    public static Command Rollback()
    {
        var name = NameArgument();
        var version = new Argument<int>("version") { Description = "The version to make current (see 'isola versions')" };
        var command = new Command("rollback", "Point a function back at an earlier version") { name, version };
        return command.WithAction(async (context, cancellationToken) =>
        {
            var function = await context.Client.Functions.RollbackAsync(context.Get(name), context.Get(version), cancellationToken);
            if (context.Json)
            {
                context.Terminal.WriteJson(function);
            }
            else
            {
                context.Terminal.Markup($"[green]rolled back[/] {Spectre.Console.Markup.Escape(function.Name)} to version {function.Version}");
            }

            return ExitCodes.Ok;
        });
    }

    public static Command Stats()
    {
        var name = new Argument<string?>("name") { Description = "One function (default: every function of the app)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("stats", "Invocation counts, errors and durations") { name };
        return command.WithAction(async (context, cancellationToken) =>
        {
            IReadOnlyList<string> names = context.Get(name) is { } one ? [one] : [.. (await context.Client.Functions.ListAsync(cancellationToken)).Select(f => f.Name)];
            var stats = new List<JsonElement>();
            foreach (var function in names)
            {
                stats.Add(await context.Client.Functions.StatsAsync(function, cancellationToken: cancellationToken));
            }

            if (context.Json)
            {
                context.Terminal.WriteJson(context.Get(name) is null ? (object)new { functions = stats } : stats[0]);
                return ExitCodes.Ok;
            }

            context.Terminal.Table(["name", "version", "invocations", "errors", "p50 ms", "p99 ms", "last"], stats.Select(s => (IReadOnlyList<string?>)
            [
                s.GetProperty("name").GetString(),
                s.GetProperty("version").GetInt32().ToString(CultureInfo.InvariantCulture),
                s.GetProperty("invocations").GetInt64().ToString(CultureInfo.InvariantCulture),
                s.GetProperty("errors").GetInt64().ToString(CultureInfo.InvariantCulture),
                Number(s.GetProperty("durationMs").GetProperty("p50")),
                Number(s.GetProperty("durationMs").GetProperty("p99")),
                s.GetProperty("lastInvocationAt").ValueKind == JsonValueKind.Null ? null : Time(s.GetProperty("lastInvocationAt").GetDateTimeOffset()),
            ]));
            return ExitCodes.Ok;
        });
    }

    public static Argument<string> NameArgument() => new("name") { Description = "The function's name (or id)" };

    private static void Describe(CliContext context, FunctionInfo function)
    {
        context.Terminal.Table(["field", "value"],
        [
            ["name", function.Name],
            ["id", function.Id],
            ["app", function.App],
            ["version", function.Version.ToString(CultureInfo.InvariantCulture)],
            ["endpoint", function.Endpoint],
            ["triggers", Triggers(function)],
            ["methods", function.Methods is null ? "all" : string.Join(",", function.Methods)],
            ["access", Text(function, "access")],
            ["timeout", $"{function.TimeoutMs} ms"],
            ["memory", $"{function.MemoryLimitMb} MB"],
            ["env vars", function.EnvVars.Count == 0 ? "-" : string.Join(", ", function.EnvVars)],
            ["updated", Time(function.UpdatedAt)],
        ]);
    }

    private static string Triggers(FunctionInfo function) =>
        function.Extra.TryGetValue("triggers", out var triggers) && triggers.ValueKind == JsonValueKind.Array
            ? string.Join(",", triggers.EnumerateArray().Select(t => t.TryGetProperty("type", out var type) ? type.GetString() : "?"))
            : "http";

    private static string? Text(FunctionInfo function, string field) =>
        function.Extra.TryGetValue(field, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    internal static string Time(DateTimeOffset time) => time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string? Number(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetDouble().ToString("0.###", CultureInfo.InvariantCulture) : null;
}

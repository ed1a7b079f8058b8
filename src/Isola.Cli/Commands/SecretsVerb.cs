using System.CommandLine;
using Isola.Cli.Project;

namespace Isola.Cli.Commands;

/// <summary>
/// <c>isola secrets set K=V… | list | unset K…</c>: the app's secrets (every function sees them), or with
/// <c>--function</c> one function's own env vars. Values are sent sealed to the node and never printed.
/// </summary>
internal static class SecretsVerb
{
    public static Command Create()
    {
        var function = new Option<string?>("--function") { Description = "One function's own env vars instead of the app's secrets", Recursive = true };
        var command = new Command("secrets", "Set, list and unset secrets (names only are ever shown)") { function, Set(function), List(function), Unset(function) };
        return command;
    }

    private static Command Set(Option<string?> function)
    {
        var pairs = new Argument<string[]>("pairs") { Description = "NAME=value pairs", Arity = ArgumentArity.ZeroOrMore };
        var envFile = new Option<string?>("--env-file") { Description = "Also every NAME=value of this file" };
        var command = new Command("set", "Add or replace secrets, keeping the others") { pairs, envFile };
        return command.WithAction(async (context, cancellationToken) =>
        {
            var values = context.Get(envFile) is { } path ? DotEnv.Read(path) : [];
            foreach (var pair in (context.Get(pairs) ?? []).Select(DotEnv.Pair))
            {
                values[pair.Key] = pair.Value;
            }

            if (values.Count == 0)
            {
                throw new CliException("give NAME=value pairs or --env-file", ExitCodes.Usage);
            }

            var names = await context.Client.Secrets.SetAsync(values, context.Get(function), cancellationToken);
            return Report(context, function, names, $"set {string.Join(", ", values.Keys.Order(StringComparer.Ordinal))}");
        });
    }

    private static Command List(Option<string?> function)
    {
        var command = new Command("list", "List secret names");
        return command.WithAction(async (context, cancellationToken) =>
        {
            var names = await context.Client.Secrets.ListAsync(context.Get(function), cancellationToken);
            if (context.Json)
            {
                return Report(context, function, names, "");
            }

            if (names.Count == 0)
            {
                context.Terminal.Line(context.Get(function) is { } f ? $"'{f}' has no env vars" : $"app '{context.Target.App}' has no secrets");
                return ExitCodes.Ok;
            }

            context.Terminal.Table(["name"], names.Select(name => (IReadOnlyList<string?>)[name]));
            return ExitCodes.Ok;
        });
    }

    private static Command Unset(Option<string?> function)
    {
        var names = new Argument<string[]>("names") { Description = "Names to remove", Arity = ArgumentArity.OneOrMore };
        var command = new Command("unset", "Remove secrets") { names };
        return command.WithAction(async (context, cancellationToken) =>
        {
            var left = await context.Client.Secrets.UnsetAsync(context.Get(names), context.Get(function), cancellationToken);
            return Report(context, function, left, $"unset {string.Join(", ", context.Get(names))}");
        });
    }

    private static int Report(CliContext context, Option<string?> function, IReadOnlyList<string> names, string done)
    {
        if (context.Json)
        {
            context.Terminal.WriteJson(new { app = context.Target.App, function = context.Get(function), secrets = names, count = names.Count });
        }
        else
        {
            var scope = context.Get(function) is { } f ? $"function '{f}'" : $"app '{context.Target.App}'";
            context.Terminal.Line($"{done} on {scope}; it now has {names.Count}: {string.Join(", ", names)}");
        }

        return ExitCodes.Ok;
    }
}

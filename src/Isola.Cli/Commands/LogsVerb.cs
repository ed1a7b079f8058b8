using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Isola.Client;

namespace Isola.Cli.Commands;

/// <summary>
/// <c>isola logs NAME [-f] [--status error|CODE]</c>: the invocation log, oldest first, each invocation with its
/// console output. <c>-f</c> keeps polling for new ones until Ctrl+C.
/// </summary>
internal static class LogsVerb
{
    private static readonly TimeSpan FollowInterval = TimeSpan.FromSeconds(1);

    public static Command Create()
    {
        var name = FunctionVerbs.NameArgument();
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new invocations until Ctrl+C" };
        var status = new Option<string?>("--status") { Description = "'error' for failed invocations only, or a status such as 404" };
        var limit = new Option<int>("--limit", "-n") { Description = "How many of the latest to show first", DefaultValueFactory = _ => 20 };
        var command = new Command("logs", "Show a function's invocations and console output") { name, follow, status, limit };
        return command.WithAction(async (context, cancellationToken) =>
        {
            var query = new LogQuery { Limit = context.Get(limit) };
            switch (context.Get(status))
            {
                case null:
                    break;
                case "error" or "errors":
                    query.ErrorsOnly = true;
                    break;
                case var code when int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var number):
                    query.Status = number;
                    break;
                case var other:
                    throw new CliException($"--status takes 'error' or a status code, not '{other}'", ExitCodes.Usage);
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            var printed = Print(context, await context.Client.Functions.LogsAsync(context.Get(name), query, cancellationToken), seen);
            if (!context.Get(follow))
            {
                if (printed == 0 && !context.Json)
                {
                    context.Terminal.Line($"no invocations of '{context.Get(name)}' yet");
                }

                return ExitCodes.Ok;
            }

            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(FollowInterval, cancellationToken);
                // From a little before the newest seen: records are written in batches, so one may land with an earlier start.
                query.Since = DateTimeOffset.UtcNow.AddMinutes(-1);
                query.Limit = 500;
                Print(context, await context.Client.Functions.LogsAsync(context.Get(name), query, cancellationToken), seen);
            }

            return ExitCodes.Ok;
        });
    }

    private static int Print(CliContext context, JsonElement answer, HashSet<string> seen)
    {
        var fresh = answer.GetProperty("invocations").EnumerateArray().Reverse().Where(i => seen.Add(i.GetProperty("id").GetString()!)).ToList();
        foreach (var invocation in fresh)
        {
            if (context.Json)
            {
                // One JSON object per line, so -f can be piped into jq.
                Console.Out.WriteLine(JsonSerializer.Serialize(invocation));
                continue;
            }

            var statusCode = invocation.GetProperty("status").GetInt32();
            var colour = statusCode >= 500 ? "red" : statusCode >= 400 ? "yellow" : "green";
            var where = invocation.GetProperty("method").ValueKind == JsonValueKind.String
                ? $"{invocation.GetProperty("method").GetString()} {invocation.GetProperty("path").GetString()}"
                : invocation.GetProperty("trigger").GetString();
            context.Terminal.Markup(string.Create(CultureInfo.InvariantCulture,
                $"{FunctionVerbs.Time(invocation.GetProperty("startedAt").GetDateTimeOffset())}  [{colour}]{statusCode}[/]  {invocation.GetProperty("durationMs").GetDouble(),8:0.0} ms  v{invocation.GetProperty("version").GetInt32()}  {Spectre.Console.Markup.Escape(where ?? "")}"));
            if (invocation.GetProperty("error").ValueKind == JsonValueKind.Object)
            {
                var error = invocation.GetProperty("error");
                context.Terminal.Markup($"    [red]{Spectre.Console.Markup.Escape(error.GetProperty("code").GetString() ?? "")}[/] {Spectre.Console.Markup.Escape(error.GetProperty("message").GetString() ?? "")}");
            }

            foreach (var line in invocation.GetProperty("logs").EnumerateArray())
            {
                context.Terminal.Line($"    {line.GetProperty("level").GetString(),-5} {line.GetProperty("msg").GetString()}");
            }
        }

        return fresh.Count;
    }
}

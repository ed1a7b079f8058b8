using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Isola.Cli.Commands;

/// <summary><c>isola db migrate [dir]</c> and <c>isola db query SQL</c>: the app's database (docs/data.md).</summary>
internal static class DbVerb
{
    public static Command Create() => new("db", "The app's database: migrations and queries") { Migrate(), Query() };

    private static Command Migrate()
    {
        var dir = new Argument<string?>("dir") { Description = "A folder of .sql files, applied in name order (default: migrations/ or supabase/migrations/)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("migrate", "Apply every migration not applied yet") { dir };
        return command.WithAction(async (context, cancellationToken) =>
        {
            var folder = context.Get(dir) ?? new[] { "migrations", Path.Combine("supabase", "migrations") }.FirstOrDefault(Directory.Exists)
                ?? throw new CliException("no migrations/ or supabase/migrations/ folder here; give the folder: isola db migrate DIR");
            if (!Directory.Exists(folder))
            {
                throw new CliException($"the migrations folder {folder} does not exist");
            }

            var files = Directory.GetFiles(folder, "*.sql").Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0)
            {
                throw new CliException($"{folder} holds no .sql files");
            }

            var results = new JsonArray();
            foreach (var file in files)
            {
                var name = Path.GetFileNameWithoutExtension(file);
                var answer = await context.Client.Database.MigrateAsync(name, await File.ReadAllTextAsync(file, cancellationToken), cancellationToken);
                results.Add(JsonNode.Parse(answer.GetRawText()));
                if (!context.Json)
                {
                    context.Terminal.Markup(answer.GetProperty("applied").GetBoolean() ? $"[green]applied[/] {name}" : $"[grey]already applied[/] {name}");
                }
            }

            if (context.Json)
            {
                context.Terminal.WriteJson(new JsonObject { ["migrations"] = results });
            }

            return ExitCodes.Ok;
        });
    }

    private static Command Query()
    {
        var sql = new Argument<string>("sql") { Description = "One SQL statement, run as service_role (past row-level security)" };
        var command = new Command("query", "Run one statement and print its rows") { sql };
        return command.WithAction(async (context, cancellationToken) =>
        {
            var answer = await context.Client.Database.QueryAsync(context.Get(sql), cancellationToken: cancellationToken);
            if (context.Json)
            {
                context.Terminal.WriteJson(answer);
                return ExitCodes.Ok;
            }

            var fields = answer.GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("name").GetString()!).ToList();
            if (fields.Count > 0)
            {
                context.Terminal.Table(fields, answer.GetProperty("rows").EnumerateArray().Select(row => (IReadOnlyList<string?>)
                    [.. fields.Select(field => Cell(row.GetProperty(field)))]));
            }

            context.Terminal.Line($"({answer.GetProperty("rowCount").GetInt64().ToString(CultureInfo.InvariantCulture)} rows)");
            return ExitCodes.Ok;
        });
    }

    private static string? Cell(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => value.GetString(),
        _ => value.GetRawText(),
    };
}

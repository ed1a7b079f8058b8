using System.Text.Json;
using Spectre.Console;

namespace Isola.Cli.Output;

/// <summary>
/// Everything a verb prints. Tables and colours through Spectre.Console when stdout is a terminal; when it is
/// not (a pipe, a file, a test), no colours, no spinners and borderless tables, so awk and grep read them.
/// <c>--json</c> prints the API's JSON instead, for scripts. Errors go to stderr, one line each.
/// </summary>
internal sealed class Terminal
{
    private static readonly JsonSerializerOptions Indented = new(Isola.Client.IsolaClient.JsonOptions) { WriteIndented = true };

    public Terminal(bool json)
    {
        Json = json;
        IsTerminal = !Console.IsOutputRedirected;
        Console.OutputEncoding = System.Text.Encoding.UTF8;
        Out = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = IsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = IsTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = IsTerminal ? InteractionSupport.Detect : InteractionSupport.No,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        if (!IsTerminal)
        {
            Out.Profile.Width = 4096; // no wrapping inside a row that a script reads
        }
    }

    public IAnsiConsole Out { get; }

    /// <summary><c>--json</c> was given: print JSON only.</summary>
    public bool Json { get; }

    public bool IsTerminal { get; }

    /// <summary>A line of plain text (markup characters are printed as they are).</summary>
    public void Line(string text) => Out.WriteLine(text);

    /// <summary>A line with Spectre markup, e.g. <c>[green]deployed[/]</c>; colours show on a terminal only.</summary>
    public void Markup(string markup) => Out.MarkupLine(markup);

    public void WriteJson(JsonElement json) => Console.Out.WriteLine(JsonSerializer.Serialize(json, Indented));

    public void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Indented));

    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string?>> rows)
    {
        var table = new Table { Border = IsTerminal ? TableBorder.Rounded : TableBorder.None };
        foreach (var header in headers)
        {
            table.AddColumn(new TableColumn(IsTerminal ? $"[bold]{Spectre.Console.Markup.Escape(header)}[/]" : header.ToUpperInvariant()));
        }

        foreach (var row in rows)
        {
            table.AddRow([.. row.Select(cell => new Text(cell ?? "-"))]);
        }

        Out.Write(table);
    }

    /// <summary>Runs <paramref name="work"/> under a spinner on a terminal, plainly elsewhere.</summary>
    public async Task<T> StatusAsync<T>(string status, Func<Task<T>> work)
    {
        if (!IsTerminal || Json)
        {
            return await work();
        }

        return await Out.Status().StartAsync(Spectre.Console.Markup.Escape(status), _ => work());
    }

    /// <summary>One line on stderr, prefixed so it cannot be mistaken for output.</summary>
    public static void Error(string message) => Console.Error.WriteLine($"isola: {message}");
}

namespace Isola.Host.Hosting;

/// <summary>
/// <c>/proc/PID/stat</c> split once (proc(5)): the command name, which may itself hold spaces and parentheses, and
/// the fields after it, from field 3 (the state) on.
/// </summary>
internal readonly record struct ProcStat(string Command, string[] Fields)
{
    /// <summary>R, S, D, Z (zombie), X (dead), …</summary>
    public char State => Fields[0][0];

    /// <summary>Field <paramref name="number"/> as proc(5) counts them (3 = state, 14 = utime, 15 = stime).</summary>
    public string Field(int number) => Fields[number - 3];

    /// <summary>The process's stat, or null when it is gone or unreadable.</summary>
    public static ProcStat? Read(int pid)
    {
        try
        {
            return Parse(File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static ProcStat? Parse(string text)
    {
        // "pid (comm) state ...": the name ends at the last ')'.
        var open = text.IndexOf('(', StringComparison.Ordinal);
        var close = text.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            return null;
        }

        var fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length == 0 ? null : new ProcStat(text[(open + 1)..close], fields);
    }
}

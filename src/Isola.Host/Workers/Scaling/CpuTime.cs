using System.Globalization;
using Isola.Host.Hosting;
using Isola.Host.Workers.Memory;

namespace Isola.Host.Workers.Scaling;

/// <summary>CPU time from /proc, in clock ticks: a worker's (its process tree) and the machine's idle share.</summary>
internal static class CpuTime
{
    /// <summary>Clock ticks per second of /proc's figures (USER_HZ): 100 on every Linux ABI .NET runs on.</summary>
    public const double TicksPerSecond = 100;

    /// <summary>User plus system time of the process and its descendants (a sandbox wrapper's child is the Deno process); null once it is gone.</summary>
    public static long? OfProcessTree(int pid)
    {
        long total = 0;
        var found = false;
        foreach (var member in ProcessTree.Of(pid))
        {
            if (OfProcess(member) is { } ticks)
            {
                total += ticks;
                found = true;
            }
        }

        return found ? total : null;
    }

    /// <summary>Fields 14 and 15 of /proc/PID/stat (utime, stime).</summary>
    public static long? OfProcess(int pid) => ProcStat.Read(pid) is { } stat ? Ticks(stat) : null;

    internal static long? ParseStat(string text) => ProcStat.Parse(text) is { } stat ? Ticks(stat) : null;

    private static long? Ticks(ProcStat stat) =>
        stat.Fields.Length > 12
        && long.TryParse(stat.Field(14), NumberStyles.None, CultureInfo.InvariantCulture, out var user)
        && long.TryParse(stat.Field(15), NumberStyles.None, CultureInfo.InvariantCulture, out var system)
            ? user + system
            : null;

    /// <summary>The machine's idle and total ticks summed over its CPUs, and how many CPUs /proc/stat lists; null where it cannot be read.</summary>
    public static (long Idle, long Total, int Cpus)? OfMachine()
    {
        try
        {
            return ParseMachine(File.ReadLines("/proc/stat"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    internal static (long Idle, long Total, int Cpus)? ParseMachine(IEnumerable<string> lines)
    {
        (long Idle, long Total)? all = null;
        var cpus = 0;
        foreach (var line in lines)
        {
            if (!line.StartsWith("cpu", StringComparison.Ordinal))
            {
                break; // the cpu lines come first
            }

            if (line.StartsWith("cpu ", StringComparison.Ordinal))
            {
                // user nice system idle iowait irq softirq steal ...: idle and iowait are time nobody ran.
                var fields = line[4..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
                all = (fields[3] + (fields.Length > 4 ? fields[4] : 0), fields.Take(8).Sum());
            }
            else
            {
                cpus++;
            }
        }

        return all is { } a && cpus > 0 ? (a.Idle, a.Total, cpus) : null;
    }
}

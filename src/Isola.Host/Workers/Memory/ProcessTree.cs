using System.Globalization;

namespace Isola.Host.Workers.Memory;

/// <summary>Reads a worker's processes and their memory from /proc.</summary>
internal static class ProcessTree
{
    /// <summary>
    /// The process and its descendants. Only the main thread's children are followed: a wrapper that
    /// forks (setpriv execs, <c>unshare --fork</c> forks from its main thread) does so there, and Deno
    /// itself may not start processes (no <c>--allow-run</c>).
    /// </summary>
    public static List<int> Of(int pid)
    {
        var all = new List<int>();
        var pending = new Stack<int>();
        pending.Push(pid);
        while (pending.Count > 0 && all.Count < 64)
        {
            var current = pending.Pop();
            all.Add(current);
            string children;
            try
            {
                children = File.ReadAllText($"/proc/{current}/task/{current}/children");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (int.TryParse(child, NumberStyles.None, CultureInfo.InvariantCulture, out var childPid))
                {
                    pending.Push(childPid);
                }
            }
        }

        return all;
    }

    /// <summary>Resident memory now and its high-water mark (VmRSS, VmHWM) in bytes; null once the process is gone.</summary>
    public static (long Resident, long Peak)? ReadMemory(int pid)
    {
        try
        {
            long? resident = null;
            long? peak = null;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    peak = Kilobytes(line) * 1024;
                }
                else if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    resident = Kilobytes(line) * 1024;
                    break; // VmRSS follows VmHWM in the file
                }
            }

            return resident is { } r && peak is { } p ? (r, p) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            // Gone, or a kernel thread without Vm lines: no figure rather than a failure.
            return null;
        }
    }

    private static long Kilobytes(string line) =>
        long.Parse(line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
}

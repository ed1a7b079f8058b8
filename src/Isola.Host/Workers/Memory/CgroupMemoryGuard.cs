using System.Buffers.Text;
using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Isola.Host.Workers.Memory;

/// <summary>
/// One cgroup v1 memory group per worker: the kernel charges every page the process (all its threads,
/// ArrayBuffers, wasm memory) touches, refuses past <c>memory.limit_in_bytes</c> and OOM-kills it.
/// </summary>
internal sealed class CgroupMemoryGuard : IWorkerMemoryGuard
{
    private readonly string _directory;
    private readonly long _limitBytes;
    private readonly Lock _gate = new();
    private SafeFileHandle? _maxUsage;
    private long _lastPeak;
    private bool _limitReached;
    private bool _disposed;

    private CgroupMemoryGuard(string directory, long limitBytes)
    {
        _directory = directory;
        _limitBytes = limitBytes;
    }

    /// <summary>Creates the group with its limit; throws <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> when it cannot.</summary>
    public static CgroupMemoryGuard Create(string directory, long limitBytes)
    {
        Directory.CreateDirectory(directory);
        var guard = new CgroupMemoryGuard(directory, limitBytes);
        try
        {
            var limit = limitBytes.ToString(CultureInfo.InvariantCulture);
            Write(directory, "memory.limit_in_bytes", limit);
            // Memory plus swap: without it a worker could page out past its limit where swap exists.
            if (File.Exists(Path.Combine(directory, "memory.memsw.limit_in_bytes")))
            {
                Write(directory, "memory.memsw.limit_in_bytes", limit);
            }

            guard._maxUsage = File.OpenHandle(Path.Combine(directory, "memory.max_usage_in_bytes"));
            return guard;
        }
        catch
        {
            guard.Dispose();
            throw;
        }
    }

    public bool LimitReached => _limitReached || (!_disposed && ReadLimitReached());

    public void Attach(int pid, Action onLimit)
    {
        // The process first, so whatever it forks from now on is born inside; then anything it forked already.
        foreach (var member in ProcessTree.Of(pid))
        {
            try
            {
                Write(_directory, "cgroup.procs", member.ToString(CultureInfo.InvariantCulture));
            }
            catch (IOException) when (!Directory.Exists($"/proc/{member}"))
            {
                // Gone before it could be moved (the sandbox wrapper's short-lived mount helpers, or a
                // worker that died at once, whose exit is reported on its own): nothing left to bound.
            }
        }
    }

    public long? ReadPeakBytes()
    {
        lock (_gate)
        {
            if (_maxUsage is { IsClosed: false } handle && ReadNumber(handle) is { } peak)
            {
                _lastPeak = peak;
            }

            return _lastPeak > 0 ? _lastPeak : null;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            ReadPeakBytes();
            _limitReached = ReadLimitReached();
            _disposed = true;
            _maxUsage?.Dispose();
        }

        // The process has been reaped; its group is empty and may go (its charges move to the parent).
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                Directory.Delete(_directory);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(20); // EBUSY while the last exiting thread leaves
            }
        }
    }

    /// <summary>
    /// The kernel's own count of OOM kills in this group (<c>oom_kill</c>, Linux 4.13+), not a guess from
    /// stderr: a killed process writes nothing. Older kernels: the usage touched the limit and was refused.
    /// </summary>
    private bool ReadLimitReached()
    {
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(_directory, "memory.oom_control")))
            {
                if (line.StartsWith("oom_kill ", StringComparison.Ordinal))
                {
                    return long.Parse(line["oom_kill ".Length..], CultureInfo.InvariantCulture) > 0;
                }
            }

            var failures = long.Parse(File.ReadAllText(Path.Combine(_directory, "memory.failcnt")).Trim(), CultureInfo.InvariantCulture);
            return failures > 0 && _lastPeak >= _limitBytes;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return false;
        }
    }

    private static long? ReadNumber(SafeFileHandle handle)
    {
        // pread at offset 0 re-reads the file: one system call per invocation record.
        Span<byte> buffer = stackalloc byte[32];
        try
        {
            var read = RandomAccess.Read(handle, buffer, 0);
            return Utf8Parser.TryParse(buffer[..read], out long value, out _) ? value : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static void Write(string directory, string file, string value) =>
        File.WriteAllText(Path.Combine(directory, file), value);
}

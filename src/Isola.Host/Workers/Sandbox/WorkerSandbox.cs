using System.Diagnostics;

namespace Isola.Host.Workers.Sandbox;

/// <summary>
/// What isolates a worker beyond Deno's permissions, decided once per node (decision 009): as root,
/// each worker starts in its own mount namespace (<c>unshare --mount</c>) with a size-limited tmpfs
/// as its tmp folder, bind-mounted on <c>/tmp</c>; elsewhere (not root, no unshare) tmp is a plain
/// folder without a quota and literal <c>/tmp</c> stays refused.
/// </summary>
internal sealed class WorkerSandbox
{
    public const int DefaultTmpLimitMb = 512;

    /// <summary>
    /// Runs inside the new mount namespace, as root, before dropping to the worker user:
    /// $1 worker dir, $2 tmp size in MB, $3/$4 uid/gid, $5 further folders the worker needs
    /// (':'-separated: the runtime's and Deno's own folders); the rest is the command to exec.
    /// Any of those folders under /tmp (tests, SocketFolder's fallback) would vanish under the new
    /// /tmp, so each is opened before /tmp is covered and bound back at the same path through that
    /// handle (not canonicalized: the path name would find the new, empty /tmp). The runtime never
    /// wipes those entries.
    /// </summary>
    private const string MountScript =
        """
        set -e
        PATH=/usr/sbin:/usr/bin:/sbin:/bin
        dir=$1 size=$2 uid=$3 gid=$4 keep=$1:$5
        shift 5
        mount -t tmpfs -o "size=${size}m,mode=0700,uid=$uid,gid=$gid,nosuid,nodev" isola-tmp "$dir/tmp"
        IFS=:
        n=3
        for p in $keep; do case "$p/" in /tmp/?*) eval "exec $n<\"\$p\""; n=$((n + 1));; esac; done
        mount --bind "$dir/tmp" /tmp
        n=3
        for p in $keep; do case "$p/" in /tmp/?*) mkdir -p "$p"; mount --no-canonicalize --rbind "/proc/self/fd/$n" "$p"; eval "exec $n<&-"; n=$((n + 1));; esac; done
        unset IFS PATH
        cd "$dir"
        exec "$@"
        """;

    /// <summary>The mount script runs without the host's PATH: setpriv is named by its full path.</summary>
    private static readonly Lazy<string> SetprivPath = new(() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Select(dir => Path.Combine(dir, "setpriv")).FirstOrDefault(File.Exists) ?? "/usr/bin/setpriv");

    private WorkerSandbox(bool privateTmp, int tmpLimitMb)
    {
        PrivateTmp = privateTmp;
        TmpLimitMb = tmpLimitMb;
    }

    /// <summary>Each worker has its own tmpfs at <c>/tmp</c> (and its tmp folder), bounded by <see cref="TmpLimitMb"/>.</summary>
    public bool PrivateTmp { get; }

    public int TmpLimitMb { get; }

    /// <summary>One line for <c>isola serve</c>'s start-up log.</summary>
    public string Describe() => PrivateTmp
        ? $"workers sandbox: private /tmp per worker (mount namespace, tmpfs of {TmpLimitMb} MB); network denied to loopback, private, link-local and host addresses by Deno permissions and the runtime guard"
        : "workers sandbox: no mount namespace (not root or unshare unavailable): tmp is a plain folder without a quota and literal /tmp is refused; network denied to loopback, private, link-local and host addresses by Deno permissions and the runtime guard";

    /// <summary>
    /// Mount namespaces need root, a working <c>unshare</c> and the right to mount a tmpfs (containers
    /// without CAP_SYS_ADMIN lack it); tried once, the way a worker start does it, on a throwaway /tmp.
    /// Not tried unless <paramref name="isRoot"/> and the operator allows them (<paramref name="allowed"/>).
    /// </summary>
    public static WorkerSandbox Detect(bool isRoot, int tmpLimitMb, bool allowed = true)
    {
        if (!isRoot || !allowed)
        {
            return new WorkerSandbox(false, tmpLimitMb);
        }

        try
        {
            using var probe = Process.Start(new ProcessStartInfo("unshare",
                ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", "PATH=/usr/sbin:/usr/bin:/sbin:/bin; mount -t tmpfs -o size=1m isola-probe /tmp"])
            {
                UseShellExecute = false,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            });
            if (probe is null || !probe.WaitForExit(5000))
            {
                return new WorkerSandbox(false, tmpLimitMb);
            }

            return new WorkerSandbox(probe.ExitCode == 0, tmpLimitMb);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return new WorkerSandbox(false, tmpLimitMb);
        }
    }

    /// <summary>The program and arguments that start <paramref name="deno"/> with its arguments inside the sandbox.</summary>
    public (string FileName, List<string> Arguments) Wrap(string workerDir, (uint Uid, uint Gid)? runAs, string deno, IEnumerable<string> denoArguments,
        IReadOnlyList<string> alsoNeeded)
    {
        var command = new List<string>();
        if (runAs is { } account)
        {
            command.AddRange([PrivateTmp ? SetprivPath.Value : "setpriv", $"--reuid={account.Uid}", $"--regid={account.Gid}", "--clear-groups", "--"]);
        }

        command.Add(deno);
        command.AddRange(denoArguments);
        if (!PrivateTmp)
        {
            return (command[0], command[1..]);
        }

        var (uid, gid) = runAs ?? (0u, 0u);
        List<string> wrapped =
        [
            "--mount", "--propagation", "private", "--", "/bin/sh", "-c", MountScript, "isola-worker",
            workerDir, TmpLimitMb.ToString(System.Globalization.CultureInfo.InvariantCulture),
            uid.ToString(System.Globalization.CultureInfo.InvariantCulture), gid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            string.Join(':', alsoNeeded),
        ];
        wrapped.AddRange(command);
        return ("unshare", wrapped);
    }
}

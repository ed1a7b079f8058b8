using Isola.Host.Workers.Sandbox;

namespace Isola.Host.Workers;

/// <summary>
/// Builds the sandboxed Deno command line of PROTOCOL.md: network but not loopback, private,
/// link-local or the host's own addresses (unless the function allows private ones), reads only in
/// the worker's folder, writes only its tmp (and /tmp when it is the worker's own) and socket,
/// no env/run/ffi, harmless sys calls only, and a V8 heap cap; wrapped in the node's sandbox.
/// </summary>
internal sealed class WorkerLaunch(string denoPath, Lazy<string> bootstrapPath, string workersRoot, string denoCache, WorkerSandbox? sandbox = null)
{
    /// <summary>
    /// System calls answered for real: what frameworks read at start (Fastify/pino read the hostname).
    /// Not networkInterfaces (the host's addresses), loadavg or getPriority (the host's load): the
    /// runtime answers those with harmless constants, as Supabase's edge-runtime does.
    /// </summary>
    public const string AllowedSys = "hostname,osRelease,osUptime,uid,gid,userInfo,homedir,cpus,systemMemoryInfo";

    public string DenoPath => denoPath;

    /// <summary>The runtime entry; throws <see cref="WorkerBootException"/> when it cannot be found.</summary>
    public string BootstrapPath => bootstrapPath.Value;

    public string WorkersRoot => workersRoot;

    public string DenoCache => denoCache;

    public WorkerSandbox Sandbox { get; } = sandbox ?? WorkerSandbox.Detect(isRoot: false, WorkerSandbox.DefaultTmpLimitMb);

    public IReadOnlyList<string> Arguments(string workerDir, int memoryLimitMb, int hostPort, bool allowPrivate = false, int? inspectPort = null)
    {
        var tmp = Path.Combine(workerDir, "tmp");
        // host.sock: the worker's call channel to the host (Deno needs write access to connect to a socket).
        var writable = tmp + "," + Path.Combine(workerDir, WorkerProtocol.WorkerSocket) + "," + Path.Combine(workerDir, WorkerProtocol.HostSocket) + (Sandbox.PrivateTmp ? ",/tmp" : "");
        List<string> arguments =
        [
            // no-legacy-abort: request.signal aborts on cancellation only; the legacy abort after every
            // response costs a warning object and a DOMException per invocation (runtime/PROTOCOL.md).
            "run", "--quiet", "--no-prompt", "--no-config", "--no-lock", "--unstable-no-legacy-abort",
            "--allow-net", "--deny-net=" + string.Join(',', NetworkDenyList.For(allowPrivate, hostPort)),
            "--allow-read=" + workerDir + (Sandbox.PrivateTmp ? ",/tmp" : ""),
            "--allow-write=" + writable,
            "--allow-sys=" + AllowedSys,
            // A young generation of 2 MB semi-spaces: scavenges of well under a millisecond instead of
            // the several that V8's growth to 16 MB gives a busy worker, and ~50 MB less resident
            // after a burst, for about the same CPU (decision 028, bench/README.md "Runtime tax").
            $"--v8-flags=--max-old-space-size={memoryLimitMb},--max-semi-space-size=2",
        ];
        if (inspectPort is { } port)
        {
            // Loopback only: the inspector runs any code it is sent, as the worker.
            arguments.Add($"--inspect=127.0.0.1:{port}");
        }

        arguments.AddRange([bootstrapPath.Value, workerDir]);
        if (Sandbox.PrivateTmp)
        {
            arguments.Add($"--tmp-limit-mb={Sandbox.TmpLimitMb}");
        }

        if (allowPrivate)
        {
            arguments.Add("--allow-private");
        }

        return arguments;
    }

    /// <summary>The program and arguments that start a worker, as <paramref name="runAs"/> when given, inside the sandbox.</summary>
    public (string FileName, List<string> Arguments) Command(string workerDir, int memoryLimitMb, int hostPort, bool allowPrivate, (uint Uid, uint Gid)? runAs,
        int? inspectPort = null) =>
        Sandbox.Wrap(workerDir, runAs, denoPath, Arguments(workerDir, memoryLimitMb, hostPort, allowPrivate, inspectPort),
            // The module cache is left out on purpose: bundles are built ahead, and a cache under /tmp would
            // show other functions' dependencies; a worker then starts with an empty one in its own tmp.
            [Path.GetDirectoryName(BootstrapPath)!, Path.GetDirectoryName(denoPath)!]);

    public Dictionary<string, string?> Environment(string workerDir) => new()
    {
        ["NO_COLOR"] = "1",
        ["DENO_DIR"] = denoCache,
        ["TMPDIR"] = Path.Combine(workerDir, "tmp"),
        ["HOME"] = Path.Combine(workerDir, "tmp"),
        ["DENO_NO_UPDATE_CHECK"] = "1",
    };

    /// <summary>
    /// Finds <c>runtime/bootstrap.ts</c>: the configured file (<c>ISOLA_RUNTIME</c>, checked at start), else
    /// upward from the host's folder. A node without it still serves the control plane; function calls answer 503 BOOT_ERROR.
    /// </summary>
    public static string FindBootstrap(string? configured)
    {
        if (configured is not null)
        {
            return Path.GetFullPath(configured);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "runtime", "bootstrap.ts");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new WorkerBootException("the worker runtime (runtime/bootstrap.ts) was not found; set ISOLA_RUNTIME to its path");
    }
}

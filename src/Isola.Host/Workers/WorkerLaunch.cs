namespace Isola.Host.Workers;

/// <summary>
/// Builds the sandboxed Deno command line of PROTOCOL.md: network but not the host's port or
/// link-local metadata addresses, reads only in the worker's folder, writes only its tmp and
/// socket, no env/run/ffi/sys, and a V8 heap cap.
/// </summary>
internal sealed class WorkerLaunch(string denoPath, Lazy<string> bootstrapPath, string workersRoot, string denoCache)
{
    public string DenoPath => denoPath;

    /// <summary>The runtime entry; throws <see cref="WorkerBootException"/> when it cannot be found.</summary>
    public string BootstrapPath => bootstrapPath.Value;

    public string WorkersRoot => workersRoot;

    public string DenoCache => denoCache;

    public IReadOnlyList<string> Arguments(string workerDir, int memoryLimitMb, int hostPort)
    {
        // Deno takes IPv4 CIDR ranges but no IPv6 ones: the IPv6 metadata endpoints are listed one by one.
        var denied = new List<string> { "169.254.0.0/16", "[fd00:ec2::254]", "[fe80::a9fe:a9fe]" };
        if (hostPort > 0)
        {
            denied.AddRange([$"127.0.0.1:{hostPort}", $"localhost:{hostPort}", $"0.0.0.0:{hostPort}", $"[::1]:{hostPort}"]);
        }

        return
        [
            // no-legacy-abort: request.signal aborts on cancellation only; the legacy abort after every
            // response costs a warning object and a DOMException per invocation (runtime/PROTOCOL.md).
            "run", "--quiet", "--no-prompt", "--no-config", "--no-lock", "--unstable-no-legacy-abort",
            "--allow-net", "--deny-net=" + string.Join(',', denied),
            "--allow-read=" + workerDir,
            // host.sock: the worker's call channel to the host (Deno needs write access to connect to a socket).
            "--allow-write=" + Path.Combine(workerDir, "tmp") + "," + Path.Combine(workerDir, "worker.sock") + "," + Path.Combine(workerDir, "host.sock"),
            $"--v8-flags=--max-old-space-size={memoryLimitMb}",
            bootstrapPath.Value, workerDir,
        ];
    }

    public Dictionary<string, string?> Environment(string workerDir) => new()
    {
        ["NO_COLOR"] = "1",
        ["DENO_DIR"] = denoCache,
        ["TMPDIR"] = Path.Combine(workerDir, "tmp"),
        ["HOME"] = Path.Combine(workerDir, "tmp"),
        ["DENO_NO_UPDATE_CHECK"] = "1",
    };

    /// <summary>
    /// Finds <c>runtime/bootstrap.ts</c>: <c>ISOLA_RUNTIME</c>, else upward from the host's folder.
    /// A node without it still serves the control plane; function calls answer 503 BOOT_ERROR.
    /// </summary>
    public static string FindBootstrap()
    {
        if (System.Environment.GetEnvironmentVariable("ISOLA_RUNTIME") is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? Path.GetFullPath(configured) : throw new WorkerBootException($"ISOLA_RUNTIME={configured} does not exist");
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

using System.Text;
using Isola.Host.Workers;
using Isola.Host.Workers.Memory;
using static Isola.Host.Hosting.Settings.ValueRules;

namespace Isola.Host.Hosting.Settings;

/// <summary>
/// Every setting an operator can give a node, in one list: the only place that reads <c>ISOLA_*</c>
/// variables, and the one that checks every value of <see cref="IsolaOptions"/> at start, however it was
/// set. docs/running.md's settings table is <see cref="MarkdownTable"/> (a test keeps them equal).
/// </summary>
internal static class IsolaSettings
{
    /// <summary>The options of a node given no setting (the data dir relative to where it starts).</summary>
    public static IsolaOptions Defaults { get; } = new() { DataDir = ".isola" };

    private static readonly TimeSpan Millisecond = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    public static IReadOnlyList<Setting> All { get; } =
    [
        // The node: where it listens, where its state lives, what it runs.
        Setting.Of("ISOLA_PORT", WholeNumber(0, 65535), o => o.Port, (o, v) => o with { Port = v },
            "TCP port; 0 picks a free one (the chosen URL is printed)", flag: "--port N"),
        Setting.Of("ISOLA_DATA_DIR", Folder, o => o.DataDir, (o, v) => o with { DataDir = v! },
            "all state of the node ([below](#the-data-dir))", flag: "--data-dir DIR", defaultText: "`./.isola`"),
        Setting.Of("ISOLA_BIND", IpAddress, o => o.BindAddress, (o, v) => o with { BindAddress = v },
            "address to bind; `0.0.0.0` in a container"),
        Setting.Of("ISOLA_PUBLIC_URL", BaseUrl, o => o.PublicUrl, (o, v) => o with { PublicUrl = v },
            "base of the `endpoint` links the API returns, read once at start; set it behind a proxy or with `ISOLA_BIND=0.0.0.0`. " +
            "The caller's `Host` header is never used, so a caller cannot make the API hand out links to a host of their choosing",
            defaultText: "the bound address (`http://127.0.0.1:8787`)"),
        Setting.Of("ISOLA_DATABASE_URL", DatabaseConnection, o => o.DatabaseUrl, (o, v) => o with { DatabaseUrl = v },
            "`postgres://user:pass@host:5432/db?sslmode=require` or an Npgsql connection string", defaultText: "unset → embedded", secret: true),
        Setting.Of("ISOLA_MASTER_KEY", Key32, o => o.MasterKey, (o, v) => o with { MasterKey = v },
            "base64 of 32 bytes (`openssl rand -base64 32`) sealing secrets", defaultText: "`<data-dir>/master.key`", secret: true),
        Setting.Of("ISOLA_ADMIN_KEY", Text, o => o.AdminKey, (o, v) => o with { AdminKey = v },
            "register this admin key instead of generating one", defaultText: "`<data-dir>/admin.key`", secret: true),
        Setting.Of("ISOLA_DENO", ExistingFile, o => o.DenoPath, (o, v) => o with { DenoPath = v },
            "the Deno 2.9 binary", defaultText: "`.tools/deno/...`, else `deno` on `PATH`"),
        Setting.Of("ISOLA_DENO_DIR", Folder, o => o.DenoCacheDir, (o, v) => o with { DenoCacheDir = v },
            "Deno's module cache for builds (npm packages)", defaultText: "`<data-dir>/deno-cache`"),
        Setting.Of("ISOLA_RUNTIME", ExistingFile, o => o.RuntimePath, (o, v) => o with { RuntimePath = v },
            "the worker runtime's entry file", defaultText: "`runtime/bootstrap.ts` above the host's folder"),
        Setting.Of("ISOLA_LOG_LEVEL", Choice(Enum.GetValues<LogLevel>().ToDictionary(level => level.ToString(), level => level)),
            o => o.LogLevel, (o, v) => o with { LogLevel = v }, "least severe log level written: `Debug`, `Warning`, …"),
        Setting.Of("ISOLA_INLINE_IO", Switch, o => o.InlineIo, (o, v) => o with { InlineIo = v },
            "`0` hands every socket completion and request to .NET's thread pool instead of running it on the thread that saw " +
            "the I/O: two thread wake-ups more per request ([decision 032](decisions/032-inline-io-completions.md))"),
        Setting.Of("ISOLA_IDLE_TRIM_AFTER", Duration(TimeSpan.Zero, Hour), o => o.IdleTrimAfter, (o, v) => o with { IdleTrimAfter = v },
            "time without invocations (and without other work: deploys, API calls) after which the host returns its free memory to the OS: " +
            "one full garbage collection and `malloc_trim` ([decision 031](decisions/031-the-host-trims-its-memory-when-quiet.md)); `0` never does"),

        // Embedded PostgreSQL.
        Setting.Of("ISOLA_PG_BIN", FolderWith("initdb"), o => o.PostgresBinDir, (o, v) => o with { PostgresBinDir = v },
            "PostgreSQL server binaries for the embedded cluster", defaultText: "newest `/usr/lib/postgresql/*/bin`"),
        Setting.Of("ISOLA_PG_USER", OsUser, o => o.PostgresUser, (o, v) => o with { PostgresUser = v },
            "OS user the embedded cluster runs as when the host is root", defaultText: "`postgres`, else `nobody`"),
        Setting.Of("ISOLA_PG_RESTART_ATTEMPTS", WholeNumber(0, 1000), o => o.DatabaseRestartAttempts, (o, v) => o with { DatabaseRestartAttempts = v },
            "restarts of an embedded PostgreSQL that died under the node before the node exits with code 3 ([below](#when-postgresql-dies-under-a-running-node))"),

        // The control plane.
        Setting.Of("ISOLA_MAX_CODE_BYTES", Bytes(1 << 10, 1 << 30), o => (long)o.MaxCodeBytes, (o, v) => o with { MaxCodeBytes = (int)v },
            "largest `code` of a deploy (UTF-8); past it the deploy is answered 413"),
        Setting.Of("ISOLA_MAX_SOURCE_BYTES", Bytes(1 << 10, 4L << 30), o => o.MaxSourceBytes, (o, v) => o with { MaxSourceBytes = v },
            "largest multi-file source (the files, or an archive unpacked); past it the deploy is answered 413"),
        Setting.Of("ISOLA_BUILD_TIMEOUT", Duration(TimeSpan.FromSeconds(1), Hour), o => o.BuildTimeout, (o, v) => o with { BuildTimeout = v },
            "one build (`deno bundle`), from its start to its exit; npm downloads on a cold cache count against it"),

        // Invocations and the workers that run them.
        Setting.Of("ISOLA_MAX_REQUEST_BODY_BYTES", Bytes(1, 1L << 40), o => o.MaxRequestBodyBytes, (o, v) => o with { MaxRequestBodyBytes = v },
            "largest request body an invocation accepts, counted as it streams to the worker; past it, 413"),
        Worker("ISOLA_WORKER_CONCURRENCY", WholeNumber(1, 10_000), w => w.Concurrency, (w, v) => w with { Concurrency = v },
            "invocations one worker runs at once (async handlers interleave on its event loop)"),
        Worker("ISOLA_WORKER_MAX_PER_FUNCTION", WholeNumber(1, 1024), w => w.MaxWorkersPerFunction, (w, v) => w with { MaxWorkersPerFunction = v },
            "most worker processes per function version (a hot function grows to it, [below](#how-a-function-gets-more-workers)); further load queues",
            defaultText: "the CPU cores, at least 2"),
        Worker("ISOLA_WORKER_MAX", WholeNumber(1, 100_000), w => w.MaxWorkers, (w, v) => w with { MaxWorkers = v },
            "most function workers on the node (pre-started ones not counted); when full, a function needing a worker stops the least recently used idle one ([below](#how-a-function-gets-more-workers))",
            defaultText: "half the node's memory ÷ 64 MiB, at least 8"),
        Worker("ISOLA_WORKER_SCALE_CPU_PERCENT", WholeNumber(1, 100), w => w.ScaleOutCpuPercent, (w, v) => w with { ScaleOutCpuPercent = v },
            "a function gets another worker when each of its workers used at least this share of a core (and it had more invocations in flight than workers) over two `ISOLA_WORKER_SCALE_INTERVAL`s in a row"),
        Worker("ISOLA_WORKER_SCALE_FREE_CPU_PERCENT", WholeNumber(0, 100_000), w => w.ScaleOutFreeCpuPercent, (w, v) => w with { ScaleOutFreeCpuPercent = v },
            "idle CPU the machine must have had over the last interval, in percent of one core, before a function gets another worker; 0 does not look"),
        Worker("ISOLA_WORKER_SCALE_INTERVAL", Duration(TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(1)), w => w.ScaleInterval, (w, v) => w with { ScaleInterval = v },
            "from one reading of the workers' CPU time to the next: the window that decides whether a function gets another worker"),
        Worker("ISOLA_WORKER_SCALE_IN_IDLE", Duration(Millisecond, Day), w => w.ScaleInIdle, (w, v) => w with { ScaleInIdle = v },
            "a function's worker beyond its first with nothing in flight for this long, from its last release, is stopped; the last one waits for `ISOLA_WORKER_IDLE_TIMEOUT`"),
        Worker("ISOLA_WORKER_QUEUE_WAIT", Duration(TimeSpan.Zero, Hour), w => w.QueueWait, (w, v) => w with { QueueWait = v },
            "how long a call waits for a slot when every worker of its function is busy and no more may start, from finding none free until one is; then `503 NO_CAPACITY`"),
        Worker("ISOLA_WORKER_IDLE_TIMEOUT", Duration(Millisecond, Day), w => w.IdleTimeout, (w, v) => w with { IdleTimeout = v },
            "a worker with nothing in flight for this long, from its last release, is stopped (scale to zero)"),
        Worker("ISOLA_WORKER_PRESTARTED", WholeNumber(0, 64), w => w.Prestarted, (w, v) => w with { Prestarted = v },
            "workers kept started ahead of need (default memory limit), so a first call skips Deno's start"),
        Worker("ISOLA_WORKER_START_TIMEOUT", Duration(Millisecond, Hour), w => w.StartTimeout, (w, v) => w with { StartTimeout = v },
            "from a worker's process start to its ready line; past it the start failed"),
        Worker("ISOLA_WORKER_LOAD_TIMEOUT", Duration(Millisecond, Hour), w => w.LoadTimeout, (w, v) => w with { LoadTimeout = v },
            "from sending a function's code to a worker until it is loaded (its top-level code runs in this time)"),
        Worker("ISOLA_WORKER_STOP_GRACE", Duration(TimeSpan.Zero, Hour), w => w.StopGrace, (w, v) => w with { StopGrace = v },
            "from asking a worker to stop until it is killed: time for `beforeunload` and pending `waitUntil` work"),
        Worker("ISOLA_WORKER_BOOT_FAILURE_BACKOFF", Duration(TimeSpan.Zero, Hour), w => w.BootFailureBackoff, (w, v) => w with { BootFailureBackoff = v },
            "after a function version failed to load, calls get `BOOT_ERROR` for this long before a load is tried again"),
        Worker("ISOLA_WORKER_PROBE_INTERVAL", Duration(Millisecond, TimeSpan.FromMinutes(1)), w => w.ProbeInterval, (w, v) => w with { ProbeInterval = v },
            "how often each worker is asked whether its event loop answers"),
        Worker("ISOLA_WORKER_PROBE_TIMEOUT", Duration(Millisecond, Hour), w => w.ProbeTimeout, (w, v) => w with { ProbeTimeout = v },
            "from a probe sent until a worker that has not answered is blocked (a busy loop): it gets no new calls until it answers"),
        Worker("ISOLA_WORKER_MEMORY_LIMITS",
            Choice(new Dictionary<string, WorkerMemoryMode> { ["auto"] = WorkerMemoryMode.Auto, ["cgroup"] = WorkerMemoryMode.Cgroup, ["watchdog"] = WorkerMemoryMode.Watchdog }),
            w => w.MemoryEnforcement, (w, v) => w with { MemoryEnforcement = v },
            "`cgroup`, `watchdog`: how workers' real memory is bounded ([below](#worker-memory-limits))"),
        Worker("ISOLA_WORKER_RUNTIME_ALLOWANCE_MB", WholeNumber(0, 65_536), w => w.RuntimeAllowanceMb, (w, v) => w with { RuntimeAllowanceMb = v },
            "memory a worker may hold beyond its function's `memoryLimitMb`, for the Deno runtime itself ([decision 006](decisions/006-worker-memory-limit-covers-the-process.md))"),
        Worker("ISOLA_WORKER_WATCHDOG_INTERVAL", Duration(Millisecond, TimeSpan.FromMinutes(1)), w => w.WatchdogInterval, (w, v) => w with { WatchdogInterval = v },
            "with the RSS watchdog, from one reading of a worker's memory to the next; what it allocates in between can overshoot"),
        Worker("ISOLA_WORKER_TMP_MB", WholeNumber(1, 1_048_576), w => w.TmpLimitMb, (w, v) => w with { TmpLimitMb = v },
            "size of each worker's private `/tmp` (tmpfs) in MB, when the host runs as root", flag: "--worker-tmp-mb N"),
        Worker("ISOLA_NO_NAMESPACES", Switch, w => !w.MountNamespaces, (w, v) => w with { MountNamespaces = !v },
            "`1` gives workers no mount namespace even as root: tmp is a plain folder ([below](#the-worker-sandbox))"),
        Worker("ISOLA_WORKER_USER", OsUser, w => w.RunAsUser, (w, v) => w with { RunAsUser = v },
            "OS user workers run as when the host is root", defaultText: "`nobody`"),
        Worker("ISOLA_WORKER_INSPECT", Text, w => w.InspectFunction, (w, v) => w with { InspectFunction = v },
            "local development only (`isola dev --inspect NAME`): workers of the function NAME start with the V8 inspector on " +
            "127.0.0.1:`ISOLA_WORKER_INSPECT_PORT`, one at a time, and are not killed after a missed deadline", defaultText: "unset"),
        Worker("ISOLA_WORKER_INSPECT_PORT", WholeNumber(1, 65535), w => w.InspectPort, (w, v) => w with { InspectPort = v },
            "the inspector's port on 127.0.0.1 (`ISOLA_WORKER_INSPECT`)"),

        // Calls from functions to the host (ctx.db).
        Setting.Of("ISOLA_HOST_CALLS_PER_WORKER", WholeNumber(1, 1024), o => o.HostCalls.MaxConcurrentCallsPerWorker,
            (o, v) => o with { HostCalls = o.HostCalls with { MaxConcurrentCallsPerWorker = v } },
            "calls (such as `ctx.db` queries) one worker may have answered at once; more wait their turn"),
        Setting.Of("ISOLA_HOST_CALL_MAX_FRAME_BYTES", Bytes(1 << 10, 1L << 30), o => (long)o.HostCalls.MaxFrameBytes,
            (o, v) => o with { HostCalls = o.HostCalls with { MaxFrameBytes = (int)v } },
            "largest call from a function (a query and its parameters); a larger one closes the worker's call channel"),
        Setting.Of("ISOLA_HOST_CALL_BACKGROUND_GRACE", Duration(TimeSpan.Zero, Day), o => o.HostCalls.BackgroundGrace,
            (o, v) => o with { HostCalls = o.HostCalls with { BackgroundGrace = v } },
            "how long after its deadline an invocation's `waitUntil` work may still call the host"),

        // Events and scheduled calls (docs/triggers.md).
        Setting.Of("ISOLA_DELIVERY_CONCURRENCY", WholeNumber(1, 10_000), o => o.Deliveries.MaxConcurrent,
            (o, v) => o with { Deliveries = o.Deliveries with { MaxConcurrent = v } },
            "events and scheduled calls this node runs at once; the rest wait in the table, so a flood cannot take every worker"),
        Setting.Of("ISOLA_DELIVERY_LEASE", Duration(TimeSpan.FromMilliseconds(300), Hour), o => o.Deliveries.Lease,
            (o, v) => o with { Deliveries = o.Deliveries with { Lease = v } },
            "from a node claiming a delivery (or renewing the claim, every third of this while it runs) until another node may run it: how long the deliveries of a node that died wait"),

        // Realtime WebSocket connections (docs/triggers.md, "Realtime WebSocket").
        Realtime("ISOLA_REALTIME_MAX_MESSAGE_BYTES", Bytes(16, 1L << 30), r => (long)r.MaxMessageBytes, (r, v) => r with { MaxMessageBytes = (int)v },
            "largest message a realtime client may send, counted as frames arrive; past it the connection is closed with 1009"),
        Realtime("ISOLA_REALTIME_MAX_PUSH_BYTES", Bytes(64, 1L << 30), r => (long)r.MaxPushBytes, (r, v) => r with { MaxPushBytes = (int)v },
            "largest frame `ctx.realtime.send` or `broadcast` may push; past it the call fails with `PAYLOAD_TOO_LARGE`"),
        Realtime("ISOLA_REALTIME_MESSAGES_PER_SECOND", WholeNumber(1, 1_000_000), r => r.MessagesPerSecond, (r, v) => r with { MessagesPerSecond = v },
            "messages one realtime connection may send per second, sustained; past it (and the burst) each gets a `RATE_LIMITED` reply"),
        Realtime("ISOLA_REALTIME_MESSAGE_BURST", WholeNumber(1, 1_000_000), r => r.MessageBurst, (r, v) => r with { MessageBurst = v },
            "messages one realtime connection may send at once before the per-second rate applies"),
        Realtime("ISOLA_REALTIME_SEND_QUEUE_BYTES", Bytes(1 << 10, 1L << 30), r => (long)r.SendQueueBytes, (r, v) => r with { SendQueueBytes = (int)v },
            "frames waiting for one realtime client, from being queued until written to its socket; past it the client is too slow and closed with 1013"),
        Realtime("ISOLA_REALTIME_MESSAGES_AT_ONCE", WholeNumber(1, 1024), r => r.MaxConcurrentMessages, (r, v) => r with { MaxConcurrentMessages = v },
            "messages of one realtime connection whose functions run at once; its next message is read when one ends"),
        Realtime("ISOLA_REALTIME_MAX_SUBSCRIPTIONS", WholeNumber(1, 1_000_000), r => r.MaxSubscriptions, (r, v) => r with { MaxSubscriptions = v },
            "channels one realtime connection may subscribe to"),
        Realtime("ISOLA_REALTIME_CLOSE_TIMEOUT", Duration(Millisecond, Hour), r => r.CloseTimeout, (r, v) => r with { CloseTimeout = v },
            "from the host closing a realtime connection (slow client, oversized message, node stopping) until it drops a client that has not answered the close"),

        // SQL against app databases.
        Setting.Of("ISOLA_DB_MAX_RESULT_BYTES", Bytes(1, 1L << 40), o => o.Data.MaxResultBytes, (o, v) => o with { Data = o.Data with { MaxResultBytes = v } },
            "largest result of one statement, counted as rows are read; past it the statement is cancelled with `RESULT_TOO_LARGE`"),
        Setting.Of("ISOLA_DB_POOL_SIZE_PER_ROLE", WholeNumber(1, 1000), o => o.Data.MaxPoolSizePerRole, (o, v) => o with { Data = o.Data with { MaxPoolSizePerRole = v } },
            "connections per app and role (`anon`, `authenticated`, `service_role`); callers beyond it wait"),
        Setting.Of("ISOLA_DB_QUERY_TIMEOUT", Duration(Millisecond, Day), o => o.Data.QueryTimeout, (o, v) => o with { Data = o.Data with { QueryTimeout = v } },
            "an operator's `/db/query` statement, from when it is received until its result is read"),
        Setting.Of("ISOLA_DB_MIGRATION_TIMEOUT", Duration(Millisecond, Day), o => o.Data.MigrationTimeout, (o, v) => o with { Data = o.Data with { MigrationTimeout = v } },
            "one migration, from its `BEGIN` to its `COMMIT`"),
    ];

    /// <summary>The options the process environment and <paramref name="flags"/> (by flag name) give; flags win.</summary>
    public static IsolaOptions FromEnvironment(IReadOnlyDictionary<string, string> flags) =>
        Read(Environment.GetEnvironmentVariable, flags);

    /// <summary>
    /// The options <paramref name="variables"/> and <paramref name="flags"/> give, checked. Every bad value is
    /// reported at once, each naming its setting and the value given, in a <see cref="StartupException"/>.
    /// </summary>
    public static IsolaOptions Read(Func<string, string?> variables, IReadOnlyDictionary<string, string> flags)
    {
        var options = Defaults with { DataDir = Path.GetFullPath(Defaults.DataDir) };
        var problems = new List<string>();
        foreach (var setting in All)
        {
            var (source, text) = setting.FlagName is { } flag && flags.TryGetValue(flag, out var flagText)
                ? (flag, flagText)
                : (setting.Variable, variables(setting.Variable));
            if (string.IsNullOrWhiteSpace(text))
            {
                continue; // Unset, as Kubernetes and shells often leave it: the default applies.
            }

            if (setting.TryApply(ref options, setting.Secret ? text : text.Trim(), source) is { } problem)
            {
                problems.Add(problem);
            }
        }

        ThrowIfAny(problems);
        return options;
    }

    /// <summary>Checks every value, whether an operator or code set it; throws one <see cref="StartupException"/> naming each bad one.</summary>
    public static void Validate(IsolaOptions options) =>
        ThrowIfAny([.. All.Select(setting => setting.Check(options)).OfType<string>()]);

    /// <summary><c>ISOLA_*</c> variables of this process that no setting has.</summary>
    public static IEnumerable<string> UnknownInEnvironment() => Unknown(Environment.GetEnvironmentVariables().Keys.Cast<string>());

    /// <summary>Read by the CLI (docs/cli.md), not the node: a shell that has them set still starts a node without a warning.</summary>
    public static readonly IReadOnlyList<string> CliVariables = ["ISOLA_URL", "ISOLA_API_KEY", "ISOLA_HOST_DLL"];

    /// <summary><c>ISOLA_*</c> names among <paramref name="names"/> that no setting has (a typo, or one from another version).</summary>
    public static IEnumerable<string> Unknown(IEnumerable<string> names) =>
        names.Where(name => name.StartsWith("ISOLA_", StringComparison.Ordinal) && All.All(setting => setting.Variable != name) && !CliVariables.Contains(name))
            .Order(StringComparer.Ordinal);

    /// <summary>The settings table of docs/running.md.</summary>
    public static string MarkdownTable()
    {
        var table = new StringBuilder("| flag / variable | default | meaning |\n|---|---|---|\n");
        foreach (var setting in All)
        {
            var name = setting.Flag is { } flag ? $"`{setting.FlagName}` / `{setting.Variable}`" : $"`{setting.Variable}`";
            table.Append(System.Globalization.CultureInfo.InvariantCulture, $"| {name} | {setting.DefaultText} | {setting.Meaning} |\n");
        }

        return table.ToString();
    }

    private static Setting Worker<T>(string variable, ValueRule<T> rule, Func<WorkerOptions, T> get, Func<WorkerOptions, T, WorkerOptions> set,
        string meaning, string? flag = null, string? defaultText = null) =>
        Setting.Of(variable, rule, o => get(o.Workers), (o, v) => o with { Workers = set(o.Workers, v) }, meaning, flag, defaultText);

    private static Setting Realtime<T>(string variable, ValueRule<T> rule, Func<Realtime.RealtimeOptions, T> get,
        Func<Realtime.RealtimeOptions, T, Realtime.RealtimeOptions> set, string meaning) =>
        Setting.Of(variable, rule, o => get(o.Realtime), (o, v) => o with { Realtime = set(o.Realtime, v) }, meaning);

    private static void ThrowIfAny(List<string> problems)
    {
        if (problems.Count == 1)
        {
            throw new StartupException(problems[0]);
        }

        if (problems.Count > 1)
        {
            throw new StartupException($"{problems.Count} settings are invalid:\n  " + string.Join("\n  ", problems));
        }
    }
}

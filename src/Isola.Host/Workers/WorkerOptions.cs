namespace Isola.Host.Workers;

/// <summary>How the supervisor sizes and recycles worker processes.</summary>
internal sealed record WorkerOptions
{
    /// <summary>
    /// Invocations one worker runs at once (async handlers interleave on its event loop). High, because
    /// a second process only helps when the first is out of CPU, and each one costs memory and a core's
    /// share; measured: one worker at c=50 serves ~10% more hello requests than two.
    /// </summary>
    public int Concurrency { get; init; } = 100;

    /// <summary>Most worker processes per function version; further load queues.</summary>
    public int MaxWorkersPerFunction { get; init; } = Math.Max(2, Environment.ProcessorCount);

    /// <summary>
    /// Most function workers on the node, across every function and version (pre-started ones are not counted).
    /// When a function needs a worker and the node has this many, the least recently used idle worker of another
    /// function is stopped to make room (decision 029); when none is idle, the call waits as for a busy worker.
    /// The default plans 64 MiB for each worker (an idle one holds 20–25 MB of its own, a busy one more) in half
    /// of the memory the node may use; the other half is PostgreSQL's, the host's and the page cache's.
    /// </summary>
    public int MaxWorkers { get; init; } = DefaultMaxWorkers();

    /// <summary>
    /// A function gets another worker (up to <see cref="MaxWorkersPerFunction"/>) when, over two
    /// <see cref="ScaleInterval"/>s in a row, each of its workers used at least this share of a core (percent), more
    /// invocations were in flight than it has workers, and the machine had <see cref="ScaleOutFreeCpuPercent"/> idle.
    /// </summary>
    public int ScaleOutCpuPercent { get; init; } = 80;

    /// <summary>Idle CPU the machine must have had over the last <see cref="ScaleInterval"/>, in percent of one core, before a function gets another worker.</summary>
    public int ScaleOutFreeCpuPercent { get; init; } = 50;

    /// <summary>From one reading of the workers' CPU time (/proc) to the next: the window that decides scale-out.</summary>
    public TimeSpan ScaleInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A function's worker beyond its first with nothing in flight for this long, from its last release, is stopped;
    /// the last one stays until <see cref="IdleTimeout"/>.
    /// </summary>
    public TimeSpan ScaleInIdle { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a request waits for a free slot when every worker of its function is busy and no more may
    /// start, from the moment it found none free until one frees up; then 503 NO_CAPACITY.
    /// </summary>
    public TimeSpan QueueWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A worker with nothing in flight for this long is stopped (scale to zero), measured from its last release.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Generic workers kept started ahead of need at the default memory limit, so a first call skips Deno's start.</summary>
    public int Prestarted { get; init; } = 2;

    /// <summary>From process start to the worker's ISOLA_READY line; past it the start counts as failed.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>From sending the bundle to the worker to its answer (module top-level code runs in it).</summary>
    public TimeSpan LoadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time a stopping worker gets for beforeunload and pending waitUntil work before it is killed.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A version whose worker failed to load answers BOOT_ERROR for this long without retrying the load.</summary>
    public TimeSpan BootFailureBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How each worker's real memory is held to its limit (<c>ISOLA_WORKER_MEMORY_LIMITS</c>: auto, cgroup, watchdog).</summary>
    public Memory.WorkerMemoryMode MemoryEnforcement { get; init; } = Memory.WorkerMemoryMode.Auto;

    /// <summary>
    /// Memory a worker may use beyond its function's <c>memoryLimitMb</c> (which bounds the V8 heap): the
    /// Deno runtime itself, V8's young generation and code, and the shared pages of the Deno binary the
    /// watchdog counts. Measured in docs/decisions/006; the process limit is <c>memoryLimitMb</c> plus this.
    /// </summary>
    public int RuntimeAllowanceMb { get; init; } = 64;

    /// <summary>How often the RSS watchdog samples each worker, from one reading to the next; what a worker allocates within it can overshoot the limit.</summary>
    public TimeSpan WatchdogInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Size of each worker's tmp (its tmpfs at /tmp and TMPDIR) in MB, where mount namespaces are
    /// available (decision 009); a write past it fails with "No space left on device".
    /// </summary>
    public int TmpLimitMb { get; init; } = Sandbox.WorkerSandbox.DefaultTmpLimitMb;

    /// <summary>
    /// Whether a root host gives each worker a mount namespace (its own tmpfs at /tmp); false forces the
    /// plain-folder fallback, for comparison or on kernels that refuse mount namespaces.
    /// </summary>
    public bool MountNamespaces { get; init; } = true;

    /// <summary>How often every worker of a pool is asked whether its event loop answers (GET /__isola/health).</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// A worker that does not answer its probe within this long is blocked (a busy loop): it gets no new
    /// requests until it answers again, and another worker takes them. Requests routed to it before that
    /// wait for it, so shorter is better; long enough that a loaded machine's scheduling delays rarely trip
    /// it, and a false alarm only costs a worker start.
    /// </summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>OS user workers run as when the host is root; null uses <c>nobody</c>.</summary>
    public string? RunAsUser { get; init; }

    /// <summary>
    /// For local development (<c>isola dev --inspect NAME</c>): workers of the function of this name start with the
    /// V8 inspector on 127.0.0.1:<see cref="InspectPort"/>, one at a time, and a worker paused in the debugger
    /// is never killed for a missed deadline. Null: no inspector anywhere.
    /// </summary>
    public string? InspectFunction { get; init; }

    /// <summary>The inspector's port on 127.0.0.1 (<see cref="InspectFunction"/>).</summary>
    public int InspectPort { get; init; } = 9229;

    private static int DefaultMaxWorkers() =>
        (int)Math.Clamp(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2 / (64L << 20), 8, 10_000);
}

namespace Isola.Host.Hosting;

/// <summary>
/// Everything a node needs to start. Operators set it through flags and <c>ISOLA_*</c> variables, read and
/// checked in one place (<see cref="Settings.IsolaSettings"/>, which docs/running.md lists).
/// </summary>
internal sealed record IsolaOptions
{
    public const int DefaultPort = 8787;

    /// <summary>Folder for the embedded PostgreSQL cluster, keys, build scratch space and the Deno cache.</summary>
    public required string DataDir { get; init; }

    /// <summary>TCP port on 127.0.0.1 (or <see cref="BindAddress"/>); 0 picks a free one.</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Address Kestrel binds; loopback unless a deployment says otherwise (Kubernetes uses 0.0.0.0).</summary>
    public string BindAddress { get; init; } = "127.0.0.1";

    /// <summary>
    /// Base of the <c>endpoint</c> links the API returns (<c>ISOLA_PUBLIC_URL</c>); null uses the address Kestrel
    /// bound. Never the caller's <c>Host</c> header, which the caller chooses.
    /// </summary>
    public Uri? PublicUrl { get; init; }

    /// <summary>External PostgreSQL (URL or Npgsql connection string); null runs the embedded cluster.</summary>
    public string? DatabaseUrl { get; init; }

    /// <summary>Base64 of 32 bytes; null reads or creates <c>master.key</c> in the data dir.</summary>
    public string? MasterKey { get; init; }

    /// <summary>Explicit Deno binary; null searches the project-local install, then PATH.</summary>
    public string? DenoPath { get; init; }

    /// <summary>The worker runtime's entry (<c>runtime/bootstrap.ts</c>); null searches upward from the host's folder.</summary>
    public string? RuntimePath { get; init; }

    /// <summary>Folder of the PostgreSQL server binaries for the embedded cluster; null picks the newest installed.</summary>
    public string? PostgresBinDir { get; init; }

    /// <summary>OS user the embedded cluster runs as when the host is root; null uses <c>postgres</c>, else <c>nobody</c>.</summary>
    public string? PostgresUser { get; init; }

    /// <summary>Least severe log level written to the console.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>Socket completions and Kestrel's continuations run on the thread that saw the I/O (decision 032).</summary>
    public bool InlineIo { get; init; } = true;

    /// <summary>Deno's module cache (npm packages) shared by builds; null puts it in the data dir.</summary>
    public string? DenoCacheDir { get; init; }

    /// <summary>A fixed admin key to register (deployments that inject it as a secret).</summary>
    public string? AdminKey { get; init; }

    /// <summary>Largest accepted function source, in UTF-8 bytes, before a deploy is answered 413.</summary>
    public int MaxCodeBytes { get; init; } = 5 * 1024 * 1024;

    /// <summary>Largest multi-file source (files or unpacked archive), in bytes, before a deploy is answered 413.</summary>
    public long MaxSourceBytes { get; init; } = 20L * 1024 * 1024;

    /// <summary>Largest request body an invocation accepts (streamed, never buffered whole); past it, 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 100L * 1024 * 1024;

    /// <summary>
    /// Restarts tried after the embedded PostgreSQL dies under a running node, from its death until one
    /// answers; when all fail the node exits non-zero so its supervisor (systemd, Kubernetes) restarts it.
    /// </summary>
    public int DatabaseRestartAttempts { get; init; } = 5;

    /// <summary>Limits of SQL against app databases (result size cap, pools, timeouts).</summary>
    public Data.AppDatabases.DataOptions Data { get; init; } = new();

    /// <summary>Worker pool sizing and recycling.</summary>
    public Workers.WorkerOptions Workers { get; init; } = new();

    /// <summary>
    /// How long the node must be quiet after work before it hands its free memory back to the OS
    /// (<see cref="IdleMemoryTrim"/>, decision 031); zero never does.
    /// </summary>
    public TimeSpan IdleTrimAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Bounds on calls from functions to the host (ctx.db and what follows it).</summary>
    public Workers.Calls.HostCallOptions HostCalls { get; init; } = new();

    /// <summary>Delivery of events and scheduled calls: concurrency, leases, retries (docs/triggers.md).</summary>
    public Deliveries.DeliveryOptions Deliveries { get; init; } = new();

    /// <summary>Bounds on realtime WebSocket connections (message size and rate, send queue).</summary>
    public Realtime.RealtimeOptions Realtime { get; init; } = new();

    /// <summary>
    /// Wall-clock limit of one <c>deno bundle</c> run, from process start to exit; npm downloads on a
    /// cold cache count against it.
    /// </summary>
    public TimeSpan BuildTimeout { get; init; } = TimeSpan.FromSeconds(120);
}

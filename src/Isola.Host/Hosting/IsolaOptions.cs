namespace Isola.Host.Hosting;

/// <summary>
/// Everything a node needs to start, resolved from flags and <c>ISOLA_*</c> variables (flags win).
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

    /// <summary>Bounds on calls from functions to the host (ctx.db and what follows it).</summary>
    public Workers.Calls.HostCallOptions HostCalls { get; init; } = new();

    /// <summary>Delivery of events and scheduled calls: concurrency, leases, retries (docs/triggers.md).</summary>
    public Deliveries.DeliveryOptions Deliveries { get; init; } = new();

    /// <summary>
    /// Wall-clock limit of one <c>deno bundle</c> run, from process start to exit; npm downloads on a
    /// cold cache count against it.
    /// </summary>
    public TimeSpan BuildTimeout { get; init; } = TimeSpan.FromSeconds(120);

    public static IsolaOptions FromEnvironment(string dataDir) => new()
    {
        DataDir = Path.GetFullPath(dataDir),
        DatabaseUrl = NullIfEmpty(Environment.GetEnvironmentVariable("ISOLA_DATABASE_URL")),
        MasterKey = NullIfEmpty(Environment.GetEnvironmentVariable("ISOLA_MASTER_KEY")),
        DenoPath = NullIfEmpty(Environment.GetEnvironmentVariable("ISOLA_DENO")),
        AdminKey = NullIfEmpty(Environment.GetEnvironmentVariable("ISOLA_ADMIN_KEY")),
        DenoCacheDir = NullIfEmpty(Environment.GetEnvironmentVariable("ISOLA_DENO_DIR")),
        BindAddress = NullIfEmpty(Environment.GetEnvironmentVariable("ISOLA_BIND")) ?? "127.0.0.1",
        Workers = new Workers.WorkerOptions
        {
            MemoryEnforcement = MemoryEnforcement(Environment.GetEnvironmentVariable("ISOLA_WORKER_MEMORY_LIMITS")),
            TmpLimitMb = ParseTmpLimit(Environment.GetEnvironmentVariable("ISOLA_WORKER_TMP_MB"), "ISOLA_WORKER_TMP_MB"),
        },
        Deliveries = Isola.Host.Deliveries.DeliveryOptions.FromEnvironment(),
        PublicUrl = ParsePublicUrl(NullIfEmpty(Environment.GetEnvironmentVariable("ISOLA_PUBLIC_URL"))),
        DatabaseRestartAttempts = int.TryParse(Environment.GetEnvironmentVariable("ISOLA_PG_RESTART_ATTEMPTS"), out var attempts) && attempts >= 0 ? attempts : 5,
        Data = NullIfEmpty(Environment.GetEnvironmentVariable("ISOLA_DB_MAX_RESULT_BYTES")) is { } cap
            ? new() { MaxResultBytes = long.TryParse(cap, System.Globalization.CultureInfo.InvariantCulture, out var bytes) && bytes > 0
                ? bytes
                : throw new StartupException($"ISOLA_DB_MAX_RESULT_BYTES must be a positive number of bytes (got '{cap}')") }
            : new(),
    };

    private static Isola.Host.Workers.Memory.WorkerMemoryMode MemoryEnforcement(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => Isola.Host.Workers.Memory.WorkerMemoryMode.Auto,
        "cgroup" => Isola.Host.Workers.Memory.WorkerMemoryMode.Cgroup,
        "watchdog" => Isola.Host.Workers.Memory.WorkerMemoryMode.Watchdog,
        _ => throw new StartupException($"ISOLA_WORKER_MEMORY_LIMITS={value} is not one of auto, cgroup, watchdog"),
    };

    private static Uri? ParsePublicUrl(string? text) =>
        text is null ? null
        : Uri.TryCreate(text.TrimEnd('/'), UriKind.Absolute, out var url) && url.Scheme is "http" or "https" && url.Query.Length == 0 && url.Fragment.Length == 0
            ? url
            : throw new ArgumentException($"ISOLA_PUBLIC_URL must be an http(s) URL such as https://functions.example.com (got '{text}')");

    /// <summary>A worker tmp size in MB (1 to 1,048,576); empty gives the default.</summary>
    public static int ParseTmpLimit(string? text, string source)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Isola.Host.Workers.Sandbox.WorkerSandbox.DefaultTmpLimitMb;
        }

        return int.TryParse(text, out var mb) && mb is >= 1 and <= 1_048_576
            ? mb
            : throw new ArgumentException($"{source} must be a size in MB from 1 to 1048576 (got '{text}')");
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

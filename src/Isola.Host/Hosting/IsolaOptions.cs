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

    /// <summary>Limits of SQL against app databases (result size cap, pools, timeouts).</summary>
    public Data.AppDatabases.DataOptions Data { get; init; } = new();

    /// <summary>Worker pool sizing and recycling.</summary>
    public Workers.WorkerOptions Workers { get; init; } = new();

    /// <summary>Bounds on calls from functions to the host (ctx.db and what follows it).</summary>
    public Workers.Calls.HostCallOptions HostCalls { get; init; } = new();

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
    };

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

using System.Security.Cryptography;
using System.Text;
using Isola.Host.Hosting;
using Isola.Host.Observability;
using Npgsql;

namespace Isola.Host.Data;

/// <summary>
/// The default database: a private PostgreSQL cluster in <c>&lt;data-dir&gt;/pg</c>, listening on a Unix
/// socket only and run as an unprivileged user when the host is root. Start recovers from a host that
/// was killed (stale pid file, orphaned postmaster); <see cref="SuperviseAsync"/> restarts a postmaster
/// that died under a running host; dispose stops the cluster, whatever state it is in.
/// </summary>
internal sealed partial class EmbeddedPostgres : IAsyncDisposable
{
    private const int SocketPort = 5432;
    private const string Superuser = "isola";
    private const string DatabaseName = "isola";
    private static readonly TimeSpan PgCtlTimeout = TimeSpan.FromSeconds(90);

    /// <summary>How often the watch looks at the postmaster; an outage is noticed within this.</summary>
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(500);

    private readonly string _binDir;
    private readonly string _pgData;
    private readonly string _logFile;
    private readonly (uint Uid, uint Gid)? _runAs;
    private readonly ILogger _logger;
    private bool _running;

    private EmbeddedPostgres(string binDir, string pgData, string socketDir, string logFile, (uint Uid, uint Gid)? runAs, ILogger logger)
    {
        _binDir = binDir;
        _pgData = pgData;
        SocketDirectory = socketDir;
        _logFile = logFile;
        _runAs = runAs;
        _logger = logger;
    }

    /// <summary>The folder holding the cluster's Unix socket; workers must never be able to reach it.</summary>
    public string SocketDirectory { get; }

    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = SocketDirectory,
        Port = SocketPort,
        Username = Superuser,
        Database = DatabaseName,
    }.ConnectionString;

    /// <summary>
    /// A libpq-style URL of this cluster (<c>postgresql:///isola?host=…&amp;port=5432&amp;user=isola</c>) that another node on
    /// this machine, run by the same OS user or root, can use as <c>ISOLA_DATABASE_URL</c>: the socket folder is 0700
    /// and local connections are trusted, so the file it is written to is the only secret.
    /// </summary>
    public string Url => $"postgresql:///{DatabaseName}?host={Uri.EscapeDataString(SocketDirectory)}&port={SocketPort}&user={Superuser}";

    /// <param name="binDir">The server binaries' folder (<c>ISOLA_PG_BIN</c>, checked at start); null finds the newest installed.</param>
    /// <param name="serviceUser">Who the cluster runs as when the host is root (<c>ISOLA_PG_USER</c>); null picks one.</param>
    public static async Task<EmbeddedPostgres> StartAsync(string dataDir, string? binDir, string? serviceUser, ILogger logger, CancellationToken cancellationToken)
    {
        binDir ??= FindBinaries();
        (uint Uid, uint Gid)? runAs = UnixUser.IsRoot ? ResolveServiceUser(serviceUser) : null;
        var pgData = Path.Combine(dataDir, "pg");
        var socketDir = SocketFolder.Choose(dataDir, Path.Combine(dataDir, "run"), $".s.PGSQL.{SocketPort}", "isola-pg-");
        var server = new EmbeddedPostgres(binDir, pgData, socketDir, Path.Combine(dataDir, "postgres.log"), runAs, logger);
        if (runAs is { } user)
        {
            UnixUser.MakeAncestorsSearchable(dataDir, dir => LogMadeSearchable(logger, dir, user.Uid));
            // The data dir itself too: one made by `mktemp -d` is 0700, and initdb (as the service user)
            // could not reach pg/ inside it. Search only (0711): the keys beside it stay unlistable and 0600.
            var mode = File.GetUnixFileMode(dataDir);
            if ((mode & UnixFileMode.OtherExecute) == 0)
            {
                File.SetUnixFileMode(dataDir, mode | UnixFileMode.OtherExecute);
                LogMadeSearchable(logger, dataDir, user.Uid);
            }
        }

        if (!File.Exists(Path.Combine(pgData, "PG_VERSION")))
        {
            await server.InitializeAsync(cancellationToken);
        }

        server.WriteConfiguration();
        await server.StopOrphanAsync(cancellationToken);
        await server.StartServerAsync(cancellationToken);
        await server.EnsureDatabaseAsync(cancellationToken);
        return server;
    }

    /// <summary>
    /// Stops the cluster; never throws. Goes by the pid file rather than by what this object believes,
    /// so a postmaster a cancelled restart left behind is stopped too.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var wasRunning = _running;
        _running = false;
        if (!wasRunning && !(ReadPostmasterPid() is { } pid && IsPostgresProcess(pid)))
        {
            return;
        }

        try
        {
            var result = await RunToolAsync("pg_ctl", ["stop", "-D", _pgData, "-m", "fast", "-w", "-t", "60", "-s"], CancellationToken.None);
            if (result.ExitCode != 0)
            {
                LogStopFailed(_logger, result.Combined);
            }
            else
            {
                LogStopped(_logger);
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            LogStopFailed(_logger, ex.Message);
        }
    }

    /// <summary>
    /// Watches the postmaster until <paramref name="cancellationToken"/> fires. When it dies, calls
    /// <paramref name="down"/>, restarts it with backoff (0.5 s doubling to 30 s) up to
    /// <paramref name="maxAttempts"/> times, and calls <paramref name="restarted"/> once it answers.
    /// Returns null when cancelled, or why the cluster could not be brought back.
    /// </summary>
    public async Task<string?> SuperviseAsync(int maxAttempts, Action<string> down, Action restarted, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var pid = ReadPostmasterPid();
                while (pid is { } alive && IsPostgresProcess(alive))
                {
                    await Task.Delay(WatchInterval, cancellationToken);
                }

                cancellationToken.ThrowIfCancellationRequested();
                var reason = pid is { } gone ? $"the embedded PostgreSQL (pid {gone}) exited" : "the embedded PostgreSQL is not running";
                _running = false;
                LogPostmasterDied(_logger, reason);
                down(reason + "; restarting it");
                if (!await RestartAsync(maxAttempts, down, cancellationToken))
                {
                    return $"{reason} and {maxAttempts} restarts failed; see {_logFile}";
                }

                restarted();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private async Task<bool> RestartAsync(int maxAttempts, Action<string> down, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(500);
        for (var attempt = 1; attempt <= maxAttempts; attempt++)
        {
            // The backends of a killed postmaster notice and exit within moments; until they do, they
            // hold its shared memory and a new postmaster refuses to start. The wait covers that.
            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            try
            {
                await StopOrphanAsync(cancellationToken);
                await StartServerAsync(cancellationToken);
                LogRestarted(_logger, attempt);
                return true;
            }
            catch (Exception ex) when (ex is StartupException or IOException or UnauthorizedAccessException)
            {
                LogRestartFailed(_logger, attempt, maxAttempts, ex.Message);
                down($"the embedded PostgreSQL is down; restart {attempt} of {maxAttempts} failed");
            }
        }

        return false;
    }

    private int? ReadPostmasterPid()
    {
        try
        {
            var firstLine = File.ReadLines(Path.Combine(_pgData, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(firstLine, out var pid) ? pid : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string FindBinaries()
    {
        // Debian installs server binaries per major version; the newest wins.
        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var newest = Directory.EnumerateDirectories(debianRoot)
                .Select(dir => (Dir: Path.Combine(dir, "bin"), Version: int.TryParse(Path.GetFileName(dir), out var v) ? v : 0))
                .Where(candidate => File.Exists(Path.Combine(candidate.Dir, "initdb")))
                .OrderByDescending(candidate => candidate.Version)
                .FirstOrDefault();
            if (newest.Dir is not null)
            {
                return newest.Dir;
            }
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            {
                return dir;
            }
        }

        throw new StartupException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with " +
            "'sudo apt-get install -y postgresql', or set ISOLA_PG_BIN to their folder, or set ISOLA_DATABASE_URL to use an existing server.");
    }

    private static (uint Uid, uint Gid) ResolveServiceUser(string? name)
    {
        if (name is not null)
        {
            return UnixUser.Find(name) ?? throw new StartupException($"ISOLA_PG_USER={name} is not an OS user");
        }

        // The Debian package creates 'postgres'; 'nobody' exists everywhere else.
        return UnixUser.Find("postgres") ?? UnixUser.Find("nobody")
            ?? throw new StartupException("PostgreSQL cannot run as root and neither 'postgres' nor 'nobody' exists; set ISOLA_PG_USER");
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        // initdb into a scratch folder and rename, so an interrupted first start never leaves a half cluster.
        var scratch = _pgData + ".init";
        if (Directory.Exists(scratch))
        {
            Directory.Delete(scratch, recursive: true);
        }

        Directory.CreateDirectory(scratch, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        ChownToService(scratch);
        LogInitializing(_logger, _pgData);
        var result = await RunToolAsync("initdb",
            ["-D", scratch, "-U", Superuser, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"],
            cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new StartupException($"initdb failed (exit {result.ExitCode}):\n{result.Combined}");
        }

        await File.AppendAllTextAsync(Path.Combine(scratch, "postgresql.conf"),
            "\n# Isola writes its own settings here on every start.\ninclude_if_exists = 'isola.conf'\n", cancellationToken);
        Directory.Move(scratch, _pgData);
    }

    private void WriteConfiguration()
    {
        Directory.CreateDirectory(SocketDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        ChownToService(SocketDirectory);
        var path = Path.Combine(_pgData, "isola.conf");
        var escapedSocketDir = SocketDirectory.Replace("'", "''", StringComparison.Ordinal);
        File.WriteAllText(path, $"""
            # Written by isola at every start; edits are lost.
            listen_addresses = ''
            port = {SocketPort}
            unix_socket_directories = '{escapedSocketDir}'
            unix_socket_permissions = 0700
            max_connections = 200

            """);
        ChownToService(path);
    }

    /// <summary>
    /// We hold the data dir lock, so a live postmaster on this cluster belongs to a host that was
    /// killed: stop it and start clean. A pid file whose process is gone or is not PostgreSQL is stale.
    /// </summary>
    private async Task StopOrphanAsync(CancellationToken cancellationToken)
    {
        var pidFile = Path.Combine(_pgData, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return;
        }

        var firstLine = File.ReadLines(pidFile).FirstOrDefault();
        if (int.TryParse(firstLine, out var pid) && IsPostgresProcess(pid))
        {
            LogStoppingOrphan(_logger, pid);
            var result = await RunToolAsync("pg_ctl", ["stop", "-D", _pgData, "-m", "fast", "-w", "-t", "60", "-s"], cancellationToken);
            if (result.ExitCode != 0)
            {
                throw new StartupException($"an earlier PostgreSQL (pid {pid}) is still running on {_pgData} and did not stop:\n{result.Combined}");
            }

            return;
        }

        LogRemovingStalePid(_logger, pidFile);
        File.Delete(pidFile);
    }

    /// <summary>True for a live (not zombie) process named postgres; an exited, unreaped one is gone for our purposes.</summary>
    internal static bool IsPostgresProcess(int pid) =>
        ProcStat.Read(pid) is { } stat && stat.Command.StartsWith("postgres", StringComparison.Ordinal) && stat.State is not ('Z' or 'X');

    private async Task StartServerAsync(CancellationToken cancellationToken)
    {
        if (_runAs is { } user)
        {
            // pg_ctl opens the log as the service user, which may not create files in the data dir.
            if (!File.Exists(_logFile))
            {
                File.WriteAllText(_logFile, "");
            }

            UnixUser.Chown(_logFile, user.Uid, user.Gid);
        }

        var result = await RunToolAsync("pg_ctl", ["start", "-D", _pgData, "-l", _logFile, "-w", "-t", "60", "-s"], cancellationToken);
        if (result.ExitCode != 0)
        {
            var tail = File.Exists(_logFile) ? string.Join('\n', File.ReadLines(_logFile).TakeLast(15)) : "";
            throw new StartupException($"PostgreSQL did not start (pg_ctl exit {result.ExitCode}): {result.Combined}\n{_logFile}:\n{tail}");
        }

        _running = true;
        LogStarted(_logger, SocketDirectory);
    }

    private async Task EnsureDatabaseAsync(CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("select 1 from pg_database where datname = $1", connection);
        exists.Parameters.Add(new NpgsqlParameter { Value = DatabaseName });
        if (await exists.ExecuteScalarAsync(cancellationToken) is null)
        {
            await using var create = new NpgsqlCommand($"create database {DatabaseName}", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private void ChownToService(string path)
    {
        if (_runAs is { } user)
        {
            UnixUser.ChownRecursive(path, user.Uid, user.Gid);
        }
    }

    private Task<ChildProcess.Result> RunToolAsync(string tool, string[] args, CancellationToken cancellationToken)
    {
        var binary = Path.Combine(_binDir, tool);
        // libpq variables from the caller's shell would point the tools at some other server.
        var environment = new Dictionary<string, string?>
        {
            ["PGDATA"] = null, ["PGHOST"] = null, ["PGPORT"] = null, ["PGUSER"] = null, ["PGDATABASE"] = null,
            ["LC_ALL"] = "C",
        };
        if (_runAs is { } user)
        {
            return ChildProcess.RunAsync("setpriv",
                [$"--reuid={user.Uid}", $"--regid={user.Gid}", "--clear-groups", "--", binary, .. args],
                PgCtlTimeout, workingDirectory: "/", environment, cancellationToken);
        }

        return ChildProcess.RunAsync(binary, args, PgCtlTimeout, workingDirectory: "/", environment, cancellationToken);
    }

    [LoggerMessage(EventId = LogEvents.PostgresDied, Level = LogLevel.Error, Message = "{Reason}; calls that need the database get 503 DATABASE_UNAVAILABLE until it is back")]
    private static partial void LogPostmasterDied(ILogger logger, string reason);

    [LoggerMessage(EventId = LogEvents.PostgresRestartFailed, Level = LogLevel.Warning, Message = "Embedded PostgreSQL restart {Attempt} of {MaxAttempts} failed: {Reason}")]
    private static partial void LogRestartFailed(ILogger logger, int attempt, int maxAttempts, string reason);

    [LoggerMessage(EventId = LogEvents.PostgresRestarted, Level = LogLevel.Information, Message = "Embedded PostgreSQL is back after {Attempt} restart attempt(s)")]
    private static partial void LogRestarted(ILogger logger, int attempt);

    [LoggerMessage(EventId = LogEvents.PostgresInitializing, Level = LogLevel.Information, Message = "Initializing embedded PostgreSQL cluster in {PgData}")]
    private static partial void LogInitializing(ILogger logger, string pgData);

    [LoggerMessage(EventId = LogEvents.PostgresStarted, Level = LogLevel.Information, Message = "Embedded PostgreSQL is up on the Unix socket in {SocketDir} (no TCP port)")]
    private static partial void LogStarted(ILogger logger, string socketDir);

    [LoggerMessage(EventId = LogEvents.PostgresStopped, Level = LogLevel.Information, Message = "Embedded PostgreSQL stopped")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(EventId = LogEvents.PostgresStopFailed, Level = LogLevel.Warning, Message = "Embedded PostgreSQL did not stop cleanly: {Output}")]
    private static partial void LogStopFailed(ILogger logger, string output);

    [LoggerMessage(EventId = LogEvents.PostgresOrphanStopping, Level = LogLevel.Warning, Message = "Stopping PostgreSQL (pid {Pid}) left running by an earlier host that did not shut down")]
    private static partial void LogStoppingOrphan(ILogger logger, int pid);

    [LoggerMessage(EventId = LogEvents.PostgresStalePidFileRemoved, Level = LogLevel.Information, Message = "Removing stale PostgreSQL pid file {PidFile}")]
    private static partial void LogRemovingStalePid(ILogger logger, string pidFile);

    [LoggerMessage(EventId = LogEvents.PostgresDataDirMadeSearchable, Level = LogLevel.Warning, Message = "Added the search (o+x) bit to {Dir} so the PostgreSQL user (uid {Uid}) can reach the data dir")]
    private static partial void LogMadeSearchable(ILogger logger, string dir, uint uid);
}

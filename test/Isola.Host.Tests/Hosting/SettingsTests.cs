using Isola.Host.Hosting;
using Isola.Host.Hosting.Settings;
using Isola.Host.Tests.Infrastructure;
using Isola.Host.Workers;
using Isola.Host.Workers.Memory;

namespace Isola.Host.Tests.Hosting;

/// <summary>
/// Settings are read and checked in one place: every value an operator gives, and every value code sets,
/// meets its rule at start or the node refuses to start with a message naming the setting and the value.
/// </summary>
public sealed class SettingsTests
{
    private static readonly Dictionary<string, string> NoFlags = [];

    [Fact]
    public void No_setting_gives_the_default_options()
    {
        var options = Read(new Dictionary<string, string>());
        Assert.Equal(IsolaSettings.Defaults with { DataDir = Path.GetFullPath(".isola") }, options);
        Assert.Equal(8787, options.Port);
        Assert.Equal(new WorkerOptions(), options.Workers);
    }

    [Fact]
    public void Every_worker_option_is_set_by_its_variable()
    {
        var options = Read(new Dictionary<string, string>
        {
            ["ISOLA_WORKER_CONCURRENCY"] = "7",
            ["ISOLA_WORKER_MAX_PER_FUNCTION"] = "3",
            ["ISOLA_WORKER_QUEUE_WAIT"] = "250ms",
            ["ISOLA_WORKER_IDLE_TIMEOUT"] = "2m",
            ["ISOLA_WORKER_PRESTARTED"] = "0",
            ["ISOLA_WORKER_START_TIMEOUT"] = "20s",
            ["ISOLA_WORKER_LOAD_TIMEOUT"] = "3s",
            ["ISOLA_WORKER_STOP_GRACE"] = "0s",
            ["ISOLA_WORKER_BOOT_FAILURE_BACKOFF"] = "1h",
            ["ISOLA_WORKER_PROBE_INTERVAL"] = "100ms",
            ["ISOLA_WORKER_PROBE_TIMEOUT"] = "2s",
            ["ISOLA_WORKER_MEMORY_LIMITS"] = "Watchdog",
            ["ISOLA_WORKER_RUNTIME_ALLOWANCE_MB"] = "96",
            ["ISOLA_WORKER_WATCHDOG_INTERVAL"] = "20ms",
            ["ISOLA_WORKER_TMP_MB"] = "64",
            ["ISOLA_NO_NAMESPACES"] = "1",
            ["ISOLA_WORKER_USER"] = "root",
        });

        Assert.Equal(new WorkerOptions
        {
            Concurrency = 7,
            MaxWorkersPerFunction = 3,
            QueueWait = TimeSpan.FromMilliseconds(250),
            IdleTimeout = TimeSpan.FromMinutes(2),
            Prestarted = 0,
            StartTimeout = TimeSpan.FromSeconds(20),
            LoadTimeout = TimeSpan.FromSeconds(3),
            StopGrace = TimeSpan.Zero,
            BootFailureBackoff = TimeSpan.FromHours(1),
            ProbeInterval = TimeSpan.FromMilliseconds(100),
            ProbeTimeout = TimeSpan.FromSeconds(2),
            MemoryEnforcement = WorkerMemoryMode.Watchdog,
            RuntimeAllowanceMb = 96,
            WatchdogInterval = TimeSpan.FromMilliseconds(20),
            TmpLimitMb = 64,
            MountNamespaces = false,
            RunAsUser = "root",
        }, options.Workers);
    }

    [Fact]
    public void Limits_of_the_node_calls_and_SQL_are_set_by_their_variables_with_units()
    {
        var options = Read(new Dictionary<string, string>
        {
            ["ISOLA_MAX_CODE_BYTES"] = "64KiB",
            ["ISOLA_MAX_SOURCE_BYTES"] = "1GiB",
            ["ISOLA_MAX_REQUEST_BODY_BYTES"] = "1000",
            ["ISOLA_BUILD_TIMEOUT"] = "5m",
            ["ISOLA_HOST_CALLS_PER_WORKER"] = "2",
            ["ISOLA_HOST_CALL_MAX_FRAME_BYTES"] = "1MiB",
            ["ISOLA_HOST_CALL_BACKGROUND_GRACE"] = "30s",
            ["ISOLA_DB_MAX_RESULT_BYTES"] = "256KiB",
            ["ISOLA_DB_POOL_SIZE_PER_ROLE"] = "4",
            ["ISOLA_DB_QUERY_TIMEOUT"] = "10s",
            ["ISOLA_DB_MIGRATION_TIMEOUT"] = "1m",
            ["ISOLA_PG_RESTART_ATTEMPTS"] = "0",
            ["ISOLA_LOG_LEVEL"] = "debug",
            ["ISOLA_INLINE_IO"] = "0",
            ["ISOLA_BIND"] = "::1",
            ["ISOLA_PUBLIC_URL"] = "https://functions.example.com/",
        });

        Assert.Equal(64 * 1024, options.MaxCodeBytes);
        Assert.Equal(1L << 30, options.MaxSourceBytes);
        Assert.Equal(1000, options.MaxRequestBodyBytes);
        Assert.Equal(TimeSpan.FromMinutes(5), options.BuildTimeout);
        Assert.Equal(new Isola.Host.Workers.Calls.HostCallOptions
        {
            MaxConcurrentCallsPerWorker = 2,
            MaxFrameBytes = 1 << 20,
            BackgroundGrace = TimeSpan.FromSeconds(30),
        }, options.HostCalls);
        Assert.Equal(new Isola.Host.Data.AppDatabases.DataOptions
        {
            MaxResultBytes = 256 * 1024,
            MaxPoolSizePerRole = 4,
            QueryTimeout = TimeSpan.FromSeconds(10),
            MigrationTimeout = TimeSpan.FromMinutes(1),
        }, options.Data);
        Assert.Equal(0, options.DatabaseRestartAttempts);
        Assert.Equal(LogLevel.Debug, options.LogLevel);
        Assert.False(options.InlineIo);
        Assert.Equal("::1", options.BindAddress);
        Assert.Equal(new Uri("https://functions.example.com"), options.PublicUrl);
    }

    [Theory]
    [InlineData("ISOLA_PORT", "80a", "ISOLA_PORT=80a is not a whole number from 0 to 65535")]
    [InlineData("ISOLA_PORT", "70000", "ISOLA_PORT=70000 is not a whole number from 0 to 65535")]
    [InlineData("ISOLA_BIND", "localhost", "ISOLA_BIND=localhost is not an IP address")]
    [InlineData("ISOLA_PUBLIC_URL", "ftp://example.com", "ISOLA_PUBLIC_URL=ftp://example.com is not an http(s) URL")]
    [InlineData("ISOLA_DENO", "/nonexistent/deno", "ISOLA_DENO=/nonexistent/deno does not exist")]
    [InlineData("ISOLA_RUNTIME", "/", "ISOLA_RUNTIME=/ is a folder, not a file")]
    [InlineData("ISOLA_DATA_DIR", "/etc/passwd", "ISOLA_DATA_DIR=/etc/passwd is a file, not a folder")]
    [InlineData("ISOLA_PG_BIN", "/tmp", "ISOLA_PG_BIN=/tmp does not contain initdb")]
    [InlineData("ISOLA_PG_USER", "no-such-user-here", "ISOLA_PG_USER=no-such-user-here is not an OS user")]
    [InlineData("ISOLA_PG_RESTART_ATTEMPTS", "-1", "ISOLA_PG_RESTART_ATTEMPTS=-1 is not a whole number from 0 to 1000")]
    [InlineData("ISOLA_LOG_LEVEL", "loud", "ISOLA_LOG_LEVEL=loud is not one of Trace, Debug, Information, Warning, Error, Critical, None")]
    [InlineData("ISOLA_WORKER_MEMORY_LIMITS", "kernel", "ISOLA_WORKER_MEMORY_LIMITS=kernel is not one of auto, cgroup, watchdog")]
    [InlineData("ISOLA_WORKER_QUEUE_WAIT", "5", "ISOLA_WORKER_QUEUE_WAIT=5 is not a duration from 0s to 1h (a whole number with ms, s, m or h)")]
    [InlineData("ISOLA_WORKER_IDLE_TIMEOUT", "0s", "ISOLA_WORKER_IDLE_TIMEOUT=0s is not a duration from 1ms to 24h")]
    [InlineData("ISOLA_WORKER_CONCURRENCY", "0", "ISOLA_WORKER_CONCURRENCY=0 is not a whole number from 1 to 10000")]
    [InlineData("ISOLA_WORKER_TMP_MB", "1.5", "ISOLA_WORKER_TMP_MB=1.5 is not a whole number from 1 to 1048576")]
    [InlineData("ISOLA_NO_NAMESPACES", "yes please", "ISOLA_NO_NAMESPACES=yes please is not 1, 0, true or false")]
    [InlineData("ISOLA_DB_MAX_RESULT_BYTES", "0", "ISOLA_DB_MAX_RESULT_BYTES=0 is not a size from 1 to 1024GiB")]
    [InlineData("ISOLA_MAX_CODE_BYTES", "16MB", "ISOLA_MAX_CODE_BYTES=16MB is not a size from 1KiB to 1GiB (bytes, or with KiB, MiB or GiB)")]
    public void A_bad_value_stops_start_naming_the_setting_and_the_value(string variable, string value, string message)
    {
        var failure = Assert.Throws<StartupException>(() => Read(new Dictionary<string, string> { [variable] = value }));
        Assert.StartsWith(message, failure.Message);
    }

    [Fact]
    public void Every_bad_value_is_reported_at_once()
    {
        var failure = Assert.Throws<StartupException>(() => Read(new Dictionary<string, string>
        {
            ["ISOLA_PORT"] = "x",
            ["ISOLA_WORKER_LOAD_TIMEOUT"] = "10",
            ["ISOLA_WORKER_PRESTARTED"] = "2",
        }));
        Assert.StartsWith("2 settings are invalid:", failure.Message);
        Assert.Contains("ISOLA_PORT=x", failure.Message);
        Assert.Contains("ISOLA_WORKER_LOAD_TIMEOUT=10", failure.Message);
        Assert.DoesNotContain("PRESTARTED", failure.Message);
    }

    [Fact]
    public void A_flag_wins_over_its_variable_and_is_named_when_bad()
    {
        var variables = new Dictionary<string, string> { ["ISOLA_PORT"] = "9000", ["ISOLA_WORKER_TMP_MB"] = "100" };
        var options = IsolaSettings.Read(name => variables.GetValueOrDefault(name), new Dictionary<string, string> { ["--port"] = "0" });
        Assert.Equal(0, options.Port);
        Assert.Equal(100, options.Workers.TmpLimitMb);

        var failure = Assert.Throws<StartupException>(() =>
            IsolaSettings.Read(name => variables.GetValueOrDefault(name), new Dictionary<string, string> { ["--worker-tmp-mb"] = "0" }));
        Assert.Equal("--worker-tmp-mb 0 is not a whole number from 1 to 1048576", failure.Message);
    }

    [Fact]
    public void Blank_variables_count_as_unset()
    {
        Assert.Equal(8787, Read(new Dictionary<string, string> { ["ISOLA_PORT"] = "  " }).Port);
        Assert.Null(Read(new Dictionary<string, string> { ["ISOLA_DATABASE_URL"] = "" }).DatabaseUrl);
    }

    [Fact]
    public void Messages_about_secrets_name_the_setting_but_never_repeat_its_value()
    {
        const string password = "hunter2-do-not-print";
        var failure = Assert.Throws<StartupException>(() => Read(new Dictionary<string, string>
        {
            ["ISOLA_MASTER_KEY"] = password,
            ["ISOLA_DATABASE_URL"] = $"postgres://isola:{password}@[db",
        }));
        Assert.Contains("ISOLA_MASTER_KEY must be the base64 encoding of exactly 32 bytes", failure.Message);
        Assert.Contains("ISOLA_DATABASE_URL is neither a postgres:// URL nor a valid connection string", failure.Message);
        Assert.DoesNotContain(password, failure.Message);
    }

    [Fact]
    public async Task Options_set_in_code_are_checked_at_start_by_the_same_rules()
    {
        var options = TestHost.NewOptions(databaseUrl: null) with
        {
            Port = -1,
            Workers = new WorkerOptions { Concurrency = 0, ProbeInterval = TimeSpan.Zero },
        };
        try
        {
            var failure = await Assert.ThrowsAsync<StartupException>(() => IsolaServer.StartAsync(options, LogLevel.Warning, CancellationToken.None));
            Assert.StartsWith("3 settings are invalid:", failure.Message);
            Assert.Contains("ISOLA_PORT=-1 is not a whole number from 0 to 65535", failure.Message);
            Assert.Contains("ISOLA_WORKER_CONCURRENCY=0 is not a whole number from 1 to 10000", failure.Message);
            Assert.Contains("ISOLA_WORKER_PROBE_INTERVAL=0s is not a duration from 1ms to 1m", failure.Message);
            Assert.False(File.Exists(Path.Combine(options.DataDir, "isola.lock")), "the node stopped before it touched its data dir");
        }
        finally
        {
            TestEnvironment.DeleteScratch(options.DataDir);
        }
    }

    [Fact]
    public void Every_default_meets_its_own_rule() => IsolaSettings.Validate(IsolaSettings.Defaults);

    [Fact]
    public void Unknown_ISOLA_variables_are_found_so_a_typo_is_not_silently_ignored()
    {
        Assert.Equal(["ISOLA_WORKER_CONCURENCY"], IsolaSettings.Unknown(["ISOLA_PORT", "ISOLA_WORKER_CONCURENCY", "PATH", "BENCH_ISOLA_X"]));
    }

    [Fact]
    public async Task Serve_refuses_a_bad_setting_with_exit_code_1_and_one_line_naming_it()
    {
        using var scratch = TestEnvironment.Scratch("settings");
        await using var node = IsolaProcess.Start(scratch.Path, new Dictionary<string, string> { ["ISOLA_WORKER_QUEUE_WAIT"] = "5", ["ISOLA_WORKER_CONCURENCY"] = "4" });
        Assert.Equal(1, await node.WaitForExitAsync());
        Assert.Contains("isola: ISOLA_WORKER_QUEUE_WAIT=5 is not a duration from 0s to 1h", node.Output);
        Assert.Contains("isola: ignoring ISOLA_WORKER_CONCURENCY: no such setting", node.Output);
        Assert.DoesNotContain("   at ", node.Output); // a message for the operator, not a stack trace
        Assert.Empty(Directory.EnumerateFileSystemEntries(scratch.Path)); // refused before touching the data dir
    }

    private static IsolaOptions Read(Dictionary<string, string> variables) =>
        IsolaSettings.Read(name => variables.GetValueOrDefault(name), NoFlags);
}

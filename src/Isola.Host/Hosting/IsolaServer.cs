using System.Net;
using System.Text.Encodings.Web;
using Isola.Host.Api;
using Isola.Host.Apps;
using Isola.Host.Auth;
using Isola.Host.Build;
using Isola.Host.Data;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Functions;
using Isola.Host.Gateway;
using Isola.Host.Observability;
using Isola.Host.Secrets;
using Isola.Host.Workers;
using Isola.Host.Workers.Calls;
using Isola.Host.Workers.Sandbox;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace Isola.Host.Hosting;

/// <summary>
/// One Isola node: data dir lock, database (embedded or external), migrations, keys, and the
/// HTTP server. Used by <c>isola serve</c> and, in-process, by the integration tests.
/// </summary>
internal sealed partial class IsolaServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly NpgsqlDataSource _dataSource;
    private readonly EmbeddedPostgres? _postgres;
    private readonly DataDirectoryLock _lock;
    private readonly ILogger<IsolaServer> _logger;
    private readonly CancellationTokenSource _stopWatch = new();
    private Task _watch = Task.CompletedTask;
    private bool _disposed;

    private IsolaServer(WebApplication app, NpgsqlDataSource dataSource, EmbeddedPostgres? postgres, DataDirectoryLock dataLock,
        Uri url, AdminKeyBootstrap.Result adminKey, IReadOnlyList<int> migrationsApplied)
    {
        _app = app;
        _dataSource = dataSource;
        _postgres = postgres;
        _lock = dataLock;
        _logger = app.Services.GetRequiredService<ILogger<IsolaServer>>();
        Url = url;
        AdminKey = adminKey;
        MigrationsApplied = migrationsApplied;
    }

    /// <summary>Why the node stopped on its own (its database could not be restarted); null after a normal stop.</summary>
    public string? FatalError { get; private set; }

    public Uri Url { get; }

    public AdminKeyBootstrap.Result AdminKey { get; }

    /// <summary>Migration versions this node applied at start (empty if another node had).</summary>
    public IReadOnlyList<int> MigrationsApplied { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The file in the data dir (0600) where a node on the embedded cluster writes the URL other nodes join it with.</summary>
    public const string DatabaseUrlFile = "database.url";

    /// <summary>Starts a node; a bad setting (however it was set) stops it here, with a message naming the setting and value.</summary>
    public static async Task<IsolaServer> StartAsync(IsolaOptions options, LogLevel minimumLevel, CancellationToken cancellationToken)
    {
        Settings.IsolaSettings.Validate(options);
        using var startupLogging = LoggerFactory.Create(logging => ConfigureLogging(logging, minimumLevel));
        var logger = startupLogging.CreateLogger<IsolaServer>();

        // 0711: other users (the PostgreSQL service user) may pass through but not list the keys.
        Directory.CreateDirectory(options.DataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var dataLock = DataDirectoryLock.Acquire(options.DataDir);
        EmbeddedPostgres? postgres = null;
        NpgsqlDataSource? dataSource = null;
        try
        {
            var denoPath = DenoLocator.Find(options.DenoPath);
            var masterKey = MasterKey.Load(options);
            var box = new SecretBox(masterKey);
            string connectionString;
            if (options.DatabaseUrl is { } url)
            {
                connectionString = DatabaseUrl.ToConnectionString(url); // Its form was checked with the other settings.
            }
            else
            {
                postgres = await EmbeddedPostgres.StartAsync(options.DataDir, options.PostgresBinDir, options.PostgresUser,
                    startupLogging.CreateLogger<EmbeddedPostgres>(), cancellationToken);
                connectionString = postgres.ConnectionString;
                // More nodes on this machine join this cluster with it as ISOLA_DATABASE_URL (docs/running.md#several-nodes-one-database).
                PrivateFile.Write(Path.Combine(options.DataDir, DatabaseUrlFile), postgres.Url + "\n");
            }

            dataSource = NpgsqlDataSource.Create(connectionString);
            IReadOnlyList<int> applied;
            try
            {
                applied = await new Migrator(dataSource, startupLogging.CreateLogger<Migrator>()).MigrateAsync(cancellationToken);
            }
            catch (NpgsqlException ex)
            {
                throw new StartupException($"cannot prepare the database ({(options.DatabaseUrl is null ? "embedded" : "ISOLA_DATABASE_URL")}): {ex.Message}", ex);
            }
            await MasterKey.VerifyAsync(dataSource, box, cancellationToken);
            AppDatabaseNames names;
            var signer = new ClaimsSigner(masterKey);
            try
            {
                // Every app has its database: made here for apps from before it existed, and with each new app.
                await using var current = dataSource.CreateCommand("select current_database()");
                names = new AppDatabaseNames((string)(await current.ExecuteScalarAsync(cancellationToken))!);
                var provisioner = new AppDatabaseProvisioner(dataSource, names, signer, startupLogging.CreateLogger<AppDatabaseProvisioner>());
                await provisioner.EnsureClusterAsync(cancellationToken);
                await provisioner.EnsureAllAsync(cancellationToken);
            }
            catch (NpgsqlException ex)
            {
                throw new StartupException($"cannot prepare the app databases: {ex.Message}; see docs/data.md for the privileges an external server must grant", ex);
            }

            var adminKey = await AdminKeyBootstrap.EnsureAsync(options, new ApiKeyStore(dataSource, TimeProvider.System), cancellationToken);

            var app = BuildApp(options, minimumLevel, dataSource, box, denoPath, names, signer);
            await app.StartAsync(cancellationToken);
            app.Services.GetRequiredService<IsolaMetrics>(); // its instruments exist from the start, not from a first use
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            app.Services.GetRequiredService<WorkerSupervisor>().Start(new Uri(address).Port);
            LogListening(logger, address);
            LogSandbox(logger, app.Services.GetRequiredService<WorkerLaunch>().Sandbox.Describe());
            var server = new IsolaServer(app, dataSource, postgres, dataLock, new Uri(address), adminKey, applied);
            server.WatchDatabase(options.DatabaseRestartAttempts);
            return server;
        }
        catch
        {
            if (dataSource is not null)
            {
                await dataSource.DisposeAsync();
            }

            if (postgres is not null)
            {
                await postgres.DisposeAsync();
            }

            dataLock.Dispose();
            throw;
        }
    }

    /// <summary>Completes when the process is asked to stop (SIGINT/SIGTERM), or stops itself (<see cref="FatalError"/>).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    /// <summary>
    /// Stops the node; never throws. Every step is guarded on its own so that one failing (a worker
    /// that will not die, a disposed client) never skips the next, and PostgreSQL is stopped last, always.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            // Stop taking requests and let in-flight ones finish, then stop the workers (beforeunload runs).
            await GuardAsync("stop the HTTP server", () => _app.StopAsync());
            await GuardAsync("stop the workers", () => _app.Services.GetRequiredService<WorkerSupervisor>().DisposeAsync().AsTask());
            await GuardAsync("stop the database watch", async () =>
            {
                await _stopWatch.CancelAsync();
                await _watch;
            });
            await GuardAsync("dispose the services", () => _app.DisposeAsync().AsTask());
            await GuardAsync("close the database connections", () => _dataSource.DisposeAsync().AsTask());
        }
        finally
        {
            if (_postgres is not null)
            {
                await GuardAsync("stop PostgreSQL", () => _postgres.DisposeAsync().AsTask());
            }

            _lock.Dispose();
        }
    }

    private async Task GuardAsync(string step, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex)
        {
            LogShutdownStepFailed(_logger, step, ex);
        }
    }

    /// <summary>
    /// After the database comes back, pooled connections still point at the dead server: drop them.
    /// With the embedded cluster, also restart a postmaster that died, or stop the node when it cannot be.
    /// </summary>
    private void WatchDatabase(int restartAttempts)
    {
        if (_postgres is null)
        {
            return; // External: the change listener notices losses and clears the pool when it reconnects.
        }

        var state = _app.Services.GetRequiredService<DatabaseState>();
        var lifetime = _app.Services.GetRequiredService<IHostApplicationLifetime>();
        _watch = Task.Run(async () =>
        {
            var fatal = await _postgres.SuperviseAsync(restartAttempts,
                down: reason =>
                {
                    state.MarkDown(reason);
                    _dataSource.Clear();
                },
                restarted: () =>
                {
                    _dataSource.Clear();
                    state.MarkUp();
                },
                _stopWatch.Token);
            if (fatal is not null)
            {
                FatalError = fatal;
                LogDatabaseLost(_logger, fatal);
                lifetime.StopApplication();
            }
        });
    }

    private static WebApplication BuildApp(IsolaOptions options, LogLevel minimumLevel, NpgsqlDataSource dataSource, SecretBox box, string denoPath,
        AppDatabaseNames names, ClaimsSigner signer)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            // The host's own folder holds no appsettings; keep configuration to flags and ISOLA_* variables.
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        ConfigureLogging(builder.Logging, minimumLevel);
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Parse(options.BindAddress), options.Port);
            kestrel.AddServerHeader = false;
            // Invocation bodies stream to workers under their own limit (IsolaOptions.MaxRequestBodyBytes); control bodies are capped when read.
            kestrel.Limits.MaxRequestBodySize = null;
        });
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = options.InlineIo);
        // Stop waits this long for in-flight requests after SIGTERM before closing connections.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(10));

        var services = builder.Services;
        // Messages quote user input ('name'); escaping quotes as \u0027 makes them unreadable. Responses are JSON, never HTML.
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping);
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(dataSource);
        services.AddSingleton<DatabaseState>();
        services.AddSingleton(box);
        services.AddSingleton<ApiKeyStore>();
        // App databases: provisioning, pools per app and role, the SQL executor, migrations.
        services.AddSingleton(names);
        services.AddSingleton(signer);
        services.AddSingleton(options.Data);
        services.AddSingleton<AppDatabaseProvisioner>();
        services.AddSingleton<AppDatabases>();
        services.AddSingleton<SqlExecutor>();
        services.AddSingleton<Data.Bindings.DatabaseBindings>();
        services.AddSingleton<Data.FunctionDb.DbTransactions>();
        services.AddSingleton<Data.FunctionDb.ReadSets>();
        services.AddSingleton<Data.Entities.EntityCatalog>();
        services.AddSingleton<Data.Entities.EntityOperations>();
        services.AddSingleton<IHostCallHandler, Data.FunctionDb.DbCallHandler>();
        services.AddSingleton<AppMigrations>();
        services.AddSingleton<AppStore>();
        services.AddSingleton<FunctionStore>();
        services.AddSingleton<FunctionService>();
        services.AddSingleton<TypedDefinitionReader>();
        services.AddSingleton<AppSecrets>();
        services.AddSingleton<PublicBaseUrl>();
        services.AddSingleton(provider => new FunctionBuilder(options, denoPath,
            new Lazy<string?>(() => FunctionBuilder.FindFunctionsModule(options.RuntimePath)),
            provider.GetRequiredService<ILogger<FunctionBuilder>>()));

        // Running functions: registry kept fresh by NOTIFY, workers, the invocation path and its records.
        services.AddSingleton<DeployedFunctionCache>();
        services.AddSingleton<FunctionChanges>();
        services.AddHostedService<FunctionChangeListener>();
        services.AddSingleton<InvocationRecorder>();
        services.AddSingleton<LiveLogFeed>();
        services.AddSingleton<IWorkerOutput>(provider => provider.GetRequiredService<LiveLogFeed>());
        services.AddHostedService(provider => provider.GetRequiredService<InvocationRecorder>());
        services.AddSingleton<InvocationQueries>();
        services.AddMetrics();
        services.AddSingleton<IsolaMetrics>();
        services.AddSingleton(options.Workers);
        services.AddSingleton(new ArtifactCache(dataSource, Path.Combine(options.DataDir, "artifacts")));
        services.AddSingleton(new WorkerLaunch(denoPath, new Lazy<string>(() => WorkerLaunch.FindBootstrap(options.RuntimePath)), SocketFolder.Choose(options.DataDir, Path.Combine(options.DataDir, "workers"),
            // A worker's own socket, and the one node servers listen on in its tmp.
            Path.Combine("0123456789ab", "tmp", ".isola-000.sock"), "isola-workers-"), Path.Combine(options.DataDir, "worker-cache"),
            WorkerSandbox.Detect(UnixUser.IsRoot, options.Workers.TmpLimitMb, options.Workers.MountNamespaces)));
        // Calls from functions to the host (ctx.db …) over each worker's host.sock, checked by capability.
        services.AddSingleton(options.HostCalls);
        services.AddSingleton<InvocationCapabilities>();
        services.AddSingleton<HostCallDispatcher>();
        services.AddSingleton<WorkerSupervisor>();
        services.AddSingleton<Invocations.FunctionInvoker>();
        services.AddSingleton<InvocationForwarder>();
        // Typed functions (query, mutation, action): called by name, as their caller, with checked arguments.
        services.AddSingleton<AppPolicies>();
        services.AddSingleton<TypedFunctions.TypedCaller>();
        services.AddSingleton(provider => new Lazy<TypedFunctions.TypedCaller>(provider.GetRequiredService<TypedFunctions.TypedCaller>));
        services.AddSingleton<IHostCallHandler, TypedFunctions.FunctionCallHandler>();
        services.AddSingleton<NodeIdentity>();
        services.AddSingleton<IdleMemoryTrim>();
        services.AddHostedService(provider => provider.GetRequiredService<IdleMemoryTrim>());

        // Cron triggers: each node sleeps until the next tick and claims it; one node runs each tick.
        services.AddSingleton(new Triggers.Cron.CronOptions());
        services.AddSingleton<Triggers.Cron.CronTickStore>();
        services.AddSingleton<Triggers.Cron.CronView>();
        services.AddSingleton<Triggers.Cron.CronScheduler>();
        services.AddHostedService(provider => provider.GetRequiredService<Triggers.Cron.CronScheduler>());

        // Realtime: client WebSockets held by the host, frames to other nodes by NOTIFY, ctx.realtime.
        services.TryAddSingleton<NodeIdentity>();
        services.AddSingleton(options.Realtime);
        services.AddSingleton<Realtime.RealtimeHub>();
        services.AddSingleton<Realtime.RealtimeRoutes>();
        services.AddSingleton<Realtime.RealtimeDispatcher>();
        services.AddSingleton<Realtime.RealtimeBus>();
        services.AddHostedService(provider => provider.GetRequiredService<Realtime.RealtimeBus>());
        services.AddSingleton<IHostCallHandler, Realtime.RealtimeCallHandler>();
        // Live queries: typed queries re-run when a commit changes a table they read (NOTIFY from the app database).
        services.AddSingleton<Realtime.LiveQueries.AppChangeListener>();
        services.AddSingleton<Realtime.LiveQueries.ChangeTriggers>();
        services.AddSingleton<Realtime.LiveQueries.LiveQueryRegistry>();

        // Events and scheduled calls: durable rows that every node's dispatcher claims and delivers.
        services.AddSingleton(options.Deliveries);
        services.AddSingleton<Deliveries.ReadySignal>();
        services.AddSingleton<Deliveries.DeliveryStore>();
        services.AddSingleton<Events.EventPublisher>();
        services.AddSingleton<Events.ChainLimits>();
        services.AddSingleton<Deliveries.TransactionHolds>();
        services.AddSingleton<IHostCallHandler, Events.EventCallHandler>();
        services.AddSingleton<IHostCallHandler, Scheduling.SchedulerCallHandler>();
        services.AddSingleton<Deliveries.DeliveryDispatcher>();
        services.AddHostedService(provider => provider.GetRequiredService<Deliveries.DeliveryDispatcher>());
        services.AddSingleton<Deliveries.DeliveryMaintenance>();
        services.AddHostedService(provider => provider.GetRequiredService<Deliveries.DeliveryMaintenance>());

        // Access control: app token settings, caller identification at the gateway.
        services.AddSingleton<AppAuthStore>();
        services.AddSingleton<JwksCache>();
        services.AddSingleton<CallerIdentifier>();

        var app = builder.Build();
        app.UseMiddleware<ErrorContractMiddleware>();
        // Only for upgrade requests: the middleware otherwise allocates its handshake feature on every request.
        app.UseWhen(static http => http.Request.Headers.Upgrade.Count > 0, static upgrades => upgrades.UseWebSockets());
        app.MapHealthEndpoints();
        app.MapAppEndpoints();
        app.MapAppAuthEndpoints();
        app.MapKeyEndpoints();
        app.MapWorkerEndpoints();
        app.MapFunctionEndpoints();
        app.MapMolnosEndpoints();
        app.MapDbEndpoints();
        app.MapSecretEndpoints();
        app.MapLogStreamEndpoints();
        app.MapEventEndpoints();
        app.MapGatewayEndpoints();
        app.MapTypedCallEndpoints();
        Realtime.RealtimeEndpoints.MapRealtimeEndpoints(app);
        return app;
    }

    private static void ConfigureLogging(ILoggingBuilder logging, LogLevel minimumLevel)
    {
        logging.SetMinimumLevel(minimumLevel);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        // Off entirely: while this category is enabled at any level, ASP.NET Core starts an Activity and a log scope
        // for every request (seen in perf profiles of the gateway); it only logs request starts and ends.
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss ";
        });
    }

    [LoggerMessage(EventId = LogEvents.NodeStopping, Level = LogLevel.Critical, Message = "Stopping the node: {Reason}")]
    private static partial void LogDatabaseLost(ILogger logger, string reason);

    [LoggerMessage(EventId = LogEvents.ShutdownStepFailed, Level = LogLevel.Error, Message = "Shutdown: could not {Step}; going on with the rest")]
    private static partial void LogShutdownStepFailed(ILogger logger, string step, Exception exception);

    [LoggerMessage(EventId = LogEvents.Listening, Level = LogLevel.Information, Message = "Isola is listening on {Address}")]
    private static partial void LogListening(ILogger logger, string address);

    [LoggerMessage(EventId = LogEvents.WorkerSandbox, Level = LogLevel.Information, Message = "{Sandbox}")]
    private static partial void LogSandbox(ILogger logger, string sandbox);
}

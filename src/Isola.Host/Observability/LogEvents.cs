namespace Isola.Host.Observability;

/// <summary>
/// The event id of every log message the host writes, grouped by area in blocks of a thousand. Ids are
/// stable: operators filter and alert on them, so a message keeps its id when its text changes, and an id
/// is never reused for another message. Each one is used by exactly one <c>[LoggerMessage]</c> (a test checks).
/// </summary>
internal static class LogEvents
{
    // Hosting: the node's start and stop.
    public const int Listening = 1001;
    public const int WorkerSandbox = 1002;
    public const int NodeStopping = 1003;
    public const int ShutdownStepFailed = 1004;

    // Data: the embedded PostgreSQL cluster.
    public const int PostgresInitializing = 2001;
    public const int PostgresStarted = 2002;
    public const int PostgresStopped = 2003;
    public const int PostgresStopFailed = 2004;
    public const int PostgresOrphanStopping = 2005;
    public const int PostgresStalePidFileRemoved = 2006;
    public const int PostgresDataDirMadeSearchable = 2007;
    public const int PostgresDied = 2008;
    public const int PostgresRestartFailed = 2009;
    public const int PostgresRestarted = 2010;

    // Data: the platform schema, app databases and bindings.
    public const int MigrationApplied = 2101;
    public const int AppDatabaseCreated = 2201;
    public const int PlatformDatabaseNotLocked = 2202;
    public const int AppMigrationApplied = 2203;
    public const int DatabaseBindingGranted = 2301;

    // Build.
    public const int FunctionBuilt = 3001;
    public const int BuildCleanupFailed = 3002;

    // Functions: deploys.
    public const int FunctionDeployed = 4001;
    public const int FunctionRolledBack = 4002;

    // Invocations (forwarding through the gateway) and the function change listener.
    public const int ForwardFailed = 5001;
    public const int StreamAborted = 5002;
    public const int ChangeListenerLost = 5101;
    public const int ChangeListenerRestored = 5102;

    // Workers: processes and pools.
    public const int WorkerReady = 6001;
    public const int WorkerDied = 6002;
    public const int WorkerStoppingIdle = 6003;
    public const int WorkerKillingUnresponsive = 6004;
    public const int WorkerBlocked = 6005;
    public const int WorkerStopFailed = 6006;
    public const int WorkerStopTimedOut = 6007;
    public const int WorkerPrestartFailed = 6008;
    public const int WorkerFolderMadeSearchable = 6009;
    public const int VersionChangeNotApplied = 6010;

    // Workers: memory limits.
    public const int MemoryLimitsInForce = 6101;
    public const int StaleMemoryCgroupRemoved = 6102;

    // Workers: calls from functions to the host.
    public const int HostCallFrameTooLarge = 6201;
    public const int HostCallFailed = 6202;

    // Events and scheduled calls: publishing, delivery, held rows.
    public const int EventChainTooDeep = 6301;
    public const int DeliveryClaimFailed = 6302;
    public const int DeliveryClaimRestored = 6303;
    public const int DeliveryListenerLost = 6304;
    public const int DeliveryListenerRestored = 6305;
    public const int DeliveryRetrying = 6306;
    public const int DeliveryDeadLettered = 6307;
    public const int DeliverySettleFailed = 6308;
    public const int DeliveryCompleteFailed = 6309;
    public const int DeliveryRenewFailed = 6310;
    public const int DeliveryNotifyFailed = 6311;
    public const int HeldRowsSettleFailed = 6312;
    public const int HeldRowsResolved = 6313;
    public const int DeliveryMaintenanceFailed = 6314;

    // Observability: invocation records and worker output.
    public const int InvocationRecordsDropped = 7001;
    public const int InvocationRecordsDeferred = 7002;
    public const int InvocationRecordsResumed = 7003;
    public const int InvocationRecordsNotStored = 7004;
    public const int WorkerOutput = 7101;

    // Api: the control plane.
    public const int UnhandledRequestFailure = 8001;
}

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
    public const int IdleMemoryTrimmed = 1005;

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
    public const int BuildCacheLockUnavailable = 3003;

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
    public const int WorkerScalingOut = 6011;
    public const int WorkerEvicted = 6012;

    // Workers: memory limits.
    public const int MemoryLimitsInForce = 6101;
    public const int StaleMemoryCgroupRemoved = 6102;

    // Workers: calls from functions to the host.
    public const int HostCallFrameTooLarge = 6201;
    public const int HostCallFailed = 6202;

    // Observability: invocation records and worker output.
    public const int InvocationRecordsDropped = 7001;
    public const int InvocationRecordsDeferred = 7002;
    public const int InvocationRecordsResumed = 7003;
    public const int InvocationRecordsNotStored = 7004;
    public const int WorkerOutput = 7101;

    // Api: the control plane.
    public const int UnhandledRequestFailure = 8001;

    // Triggers: cron.
    public const int CronWatching = 9001;
    public const int CronTicksDeleted = 9002;
    public const int CronTickClaimedElsewhere = 9003;
    public const int CronRunStarting = 9004;
    public const int CronTickSkipped = 9005;
    public const int CronRunFailed = 9006;
    public const int CronRunNotRecorded = 9007;
    public const int CronTickNotClaimed = 9008;
    public const int CronScheduleUnparsable = 9009;
    public const int CronLoopFailing = 9010;
    public const int CronLoopRestored = 9011;

    // Triggers: events and scheduled calls (publishing, delivery, rows held for app transactions).
    public const int EventChainTooDeep = 9201;
    public const int DeliveryClaimFailed = 9202;
    public const int DeliveryClaimRestored = 9203;
    public const int DeliveryListenerLost = 9204;
    public const int DeliveryListenerRestored = 9205;
    public const int DeliveryRetrying = 9206;
    public const int DeliveryDeadLettered = 9207;
    public const int DeliverySettleFailed = 9208;
    public const int DeliveryCompleteFailed = 9209;
    public const int DeliveryRenewFailed = 9210;
    public const int DeliveryNotifyFailed = 9211;
    public const int HeldRowsSettleFailed = 9212;
    public const int HeldRowsResolved = 9213;
    public const int DeliveryMaintenanceFailed = 9214;

    // Triggers: realtime WebSockets and their frames between nodes.
    public const int RealtimeClientTooSlow = 9401;
    public const int RealtimeMessageTooBig = 9402;
    public const int RealtimeRunFailed = 9403;
    public const int RealtimeListenerLost = 9411;
    public const int RealtimeListenerRestored = 9412;
    public const int RealtimeInboxFull = 9413;
    public const int RealtimeDeliveryFailed = 9414;
    public const int RealtimeStoredFrameGone = 9415;

    // Typed functions and live queries.
    public const int LiveTriggerAdded = 9601;
    public const int LiveTriggerNotAdded = 9602;
    public const int LiveListenerLost = 9603;
    public const int LiveListenerRestored = 9604;
    public const int LiveRunFailed = 9605;
}

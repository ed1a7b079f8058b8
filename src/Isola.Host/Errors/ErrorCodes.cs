namespace Isola.Host.Errors;

/// <summary>Machine-readable error codes of the error contract (docs/functions-api.md, "Errors"); clients switch on these.</summary>
internal static class ErrorCodes
{
    public const string InvalidRequest = "INVALID_REQUEST";
    public const string AuthRequired = "AUTH_REQUIRED";
    public const string Forbidden = "FORBIDDEN";
    public const string AppNotFound = "APP_NOT_FOUND";
    public const string AppExists = "APP_EXISTS";
    public const string FunctionNotFound = "FUNCTION_NOT_FOUND";
    public const string FunctionExists = "FUNCTION_EXISTS";
    public const string VersionNotFound = "VERSION_NOT_FOUND";
    public const string NotFound = "NOT_FOUND";
    public const string MethodNotAllowed = "METHOD_NOT_ALLOWED";
    public const string PayloadTooLarge = "PAYLOAD_TOO_LARGE";
    public const string BuildFailed = "BUILD_FAILED";
    public const string DatabaseUnavailable = "DATABASE_UNAVAILABLE";
    public const string InternalError = "INTERNAL_ERROR";
    public const string MigrationConflict = "MIGRATION_CONFLICT";
    public const string MigrationFailed = "MIGRATION_FAILED";
    public const string QueryFailed = "QUERY_FAILED";
    public const string QueryTimeout = "QUERY_TIMEOUT";
    public const string ResultTooLarge = "RESULT_TOO_LARGE";

    // Events and scheduled calls (docs/triggers.md).
    public const string EventChainTooDeep = "EVENT_CHAIN_TOO_DEEP";

    // How an invocation failed (docs/invoking.md, "When things go wrong").
    public const string FunctionError = "FUNCTION_ERROR";
    public const string FunctionStatus = "FUNCTION_STATUS";
    public const string FunctionTimeout = "FUNCTION_TIMEOUT";
    public const string BootError = "BOOT_ERROR";
    public const string NoCapacity = "NO_CAPACITY";
    public const string WorkerLimit = "WORKER_LIMIT";
    public const string WorkerCrashed = "WORKER_CRASHED";
    public const string ClientClosed = "CLIENT_CLOSED";

    // Calls from functions to the host (ctx.db …), as the function sees them (docs/data.md, "Errors").
    public const string BadCall = "BAD_CALL";
    public const string HostError = "HOST_ERROR";
    public const string CapabilityRefused = "CAPABILITY_REFUSED";
    public const string UnknownCall = "UNKNOWN_CALL";
    public const string NoBinding = "NO_BINDING";
    public const string TooManyTransactions = "TOO_MANY_TRANSACTIONS";
    public const string TransactionNotFound = "TRANSACTION_NOT_FOUND";
    public const string DbError = "DB_ERROR";

    // Typed functions (docs/typed-functions.md).
    public const string InvalidArgs = "INVALID_ARGS";
    public const string PolicyDenied = "POLICY_DENIED";
    public const string TransactionConflict = "TRANSACTION_CONFLICT";
    public const string CallTooDeep = "CALL_TOO_DEEP";

    /// <summary>Raised by the runtime itself, before any frame is sent, for a call whose invocation has ended.</summary>
    public const string NoCapability = "NO_CAPABILITY";

    // Realtime WebSocket replies (docs/triggers.md, "Realtime WebSocket").
    public const string NoHandler = "NO_HANDLER";
    public const string RateLimited = "RATE_LIMITED";
}

namespace Isola.Host.Workers;

/// <summary>
/// Every name of the host ⇄ worker protocol (runtime/PROTOCOL.md), spelled once on the host side. The runtime
/// spells them once too, in <c>runtime/src/protocol.ts</c>; <c>WorkerProtocolDriftTests</c> fails when the two
/// files disagree (each constant here is <c>UPPER_SNAKE</c> there, with the same value).
/// </summary>
internal static class WorkerProtocol
{
    /// <summary>The one line the runtime prints on stdout once its socket listens.</summary>
    public const string ReadyLine = "ISOLA_READY";

    /// <summary>The socket, in the worker's folder, that the runtime serves invocations and control calls on.</summary>
    public const string WorkerSocket = "worker.sock";

    /// <summary>The socket, in the worker's folder, the host serves the worker's calls on (ctx.db …).</summary>
    public const string HostSocket = "host.sock";

    /// <summary>What the builder exports a MolnOS script's <c>handler</c> as.</summary>
    public const string ScriptHandlerExport = "__isolaScriptHandler";

    public const string ControlPrefix = "/__isola/";
    public const string LoadPath = "/__isola/load";
    public const string HealthPath = "/__isola/health";
    public const string ShutdownPath = "/__isola/shutdown";

    /// <summary>Every request header with this prefix is the envelope: the runtime removes it before the function sees the request.</summary>
    public const string EnvelopePrefix = "x-isola-";
    public const string InvocationIdHeader = "x-isola-invocation-id";
    public const string OriginHeader = "x-isola-origin";
    public const string SubpathHeader = "x-isola-subpath";
    public const string DeadlineHeader = "x-isola-deadline";
    public const string CallerHeader = "x-isola-caller";
    public const string CapabilityHeader = "x-isola-capability";
    public const string TriggerHeader = "x-isola-trigger";

    /// <summary>On a response: the runtime's own error (its code is the value); the body is <c>{"error": {"message", "stack"?}}</c>.</summary>
    public const string ErrorHeader = "x-isola-error";

    // A log record on stdout: {"t": "log", "inv", "level", "msg", "ts"}.
    public const string LogKindKey = "t";
    public const string LogKind = "log";
    public const string LogInvocationKey = "inv";
    public const string LogLevelKey = "level";
    public const string LogMessageKey = "msg";
    public const string LogTimestampKey = "ts";
}

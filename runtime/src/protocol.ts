// Every name of the host ⇄ worker protocol (../PROTOCOL.md), spelled once on the runtime side. The host
// spells them once too, in src/Isola.Host/Workers/WorkerProtocol.cs; WorkerProtocolDriftTests (host
// tests) fails when the two files disagree. Keep one exported string constant per line.

/** The one line printed on stdout once the socket listens. */
export const READY_LINE = "ISOLA_READY";
/** The socket, in the worker's folder, invocations and control calls arrive on. */
export const WORKER_SOCKET = "worker.sock";
/** The socket, in the worker's folder, the host answers this worker's calls on (ctx.db …). */
export const HOST_SOCKET = "host.sock";
/** What the builder exports a MolnOS script's `handler` as. */
export const SCRIPT_HANDLER_EXPORT = "__isolaScriptHandler";

export const CONTROL_PREFIX = "/__isola/";
export const LOAD_PATH = "/__isola/load";
export const HEALTH_PATH = "/__isola/health";
export const SHUTDOWN_PATH = "/__isola/shutdown";

/** Every request header with this prefix is the envelope, removed before the function sees the request. */
export const ENVELOPE_PREFIX = "x-isola-";
export const INVOCATION_ID_HEADER = "x-isola-invocation-id";
export const ORIGIN_HEADER = "x-isola-origin";
export const SUBPATH_HEADER = "x-isola-subpath";
export const DEADLINE_HEADER = "x-isola-deadline";
export const CALLER_HEADER = "x-isola-caller";
export const CAPABILITY_HEADER = "x-isola-capability";
export const TRIGGER_HEADER = "x-isola-trigger";
/** On a response: the runtime's own error (the value is its code); the body is {"error": {"message", "stack"?}}. */
export const ERROR_HEADER = "x-isola-error";

// A log record on stdout: {"t": "log", "inv", "level", "msg", "ts"}.
export const LOG_KIND_KEY = "t";
export const LOG_KIND = "log";
export const LOG_INVOCATION_KEY = "inv";
export const LOG_LEVEL_KEY = "level";
export const LOG_MESSAGE_KEY = "msg";
export const LOG_TIMESTAMP_KEY = "ts";

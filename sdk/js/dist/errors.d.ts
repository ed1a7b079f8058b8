/**
 * Error classes of @supabase/functions-js, with the same names and meaning, so code written for Supabase
 * tells failures apart the same way: `error instanceof FunctionsHttpError` and `error.context` (the Response).
 */
export declare class FunctionsError extends Error {
    /** The Response for an HTTP or relay error; the thrown cause for a fetch error. */
    readonly context: unknown;
    constructor(message: string, name?: string, context?: unknown);
}
/** The request never got an answer: the node is unreachable, the network failed or the call was aborted. */
export declare class FunctionsFetchError extends FunctionsError {
    readonly context: unknown;
    constructor(cause: unknown);
}
/**
 * Isola itself answered with an error (`x-relay-error: true`): no such function, not allowed, timed out,
 * crashed, no capacity. `context.json()` is `{"error": {"code", "message"}}`.
 */
export declare class FunctionsRelayError extends FunctionsError {
    readonly context: Response;
    constructor(response: Response);
}
/** The function ran and answered with a status of 400 or more; `context` is its Response, body unread. */
export declare class FunctionsHttpError extends FunctionsError {
    readonly context: Response;
    constructor(response: Response);
}
/**
 * A typed function (`callFn`) or a live query failed: `code` is the API's (`INVALID_ARGS`, `POLICY_DENIED`,
 * a code of the function's own `ctx.error(code, message)` …), `status` the HTTP status (0 over the realtime socket).
 */
export declare class IsolaError extends Error {
    readonly code: string;
    readonly status: number;
    readonly field: string | undefined;
    constructor(code: string, message: string, status: number, field?: string);
}

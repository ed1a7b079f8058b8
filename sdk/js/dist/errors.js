/**
 * Error classes of @supabase/functions-js, with the same names and meaning, so code written for Supabase
 * tells failures apart the same way: `error instanceof FunctionsHttpError` and `error.context` (the Response).
 */
export class FunctionsError extends Error {
    /** The Response for an HTTP or relay error; the thrown cause for a fetch error. */
    context;
    constructor(message, name = "FunctionsError", context) {
        super(message);
        this.name = name;
        this.context = context;
    }
}
/** The request never got an answer: the node is unreachable, the network failed or the call was aborted. */
export class FunctionsFetchError extends FunctionsError {
    constructor(cause) {
        super("Failed to send a request to the function", "FunctionsFetchError", cause);
    }
}
/**
 * Isola itself answered with an error (`x-relay-error: true`): no such function, not allowed, timed out,
 * crashed, no capacity. `context.json()` is `{"error": {"code", "message"}}`.
 */
export class FunctionsRelayError extends FunctionsError {
    constructor(response) {
        super("Relay Error invoking the function", "FunctionsRelayError", response);
    }
}
/** The function ran and answered with a status of 400 or more; `context` is its Response, body unread. */
export class FunctionsHttpError extends FunctionsError {
    constructor(response) {
        super("Function returned a non-2xx status code", "FunctionsHttpError", response);
    }
}
/**
 * A typed function (`callFn`) or a live query failed: `code` is the API's (`INVALID_ARGS`, `POLICY_DENIED`,
 * a code of the function's own `ctx.error(code, message)` …), `status` the HTTP status (0 over the realtime socket).
 */
export class IsolaError extends Error {
    code;
    status;
    field;
    constructor(code, message, status, field) {
        super(message);
        this.name = "IsolaError";
        this.code = code;
        this.status = status;
        this.field = field;
    }
}

import { type InvokeBody } from "./body.js";
import { type Connection } from "./connection.js";
import { FunctionsFetchError, FunctionsHttpError, FunctionsRelayError } from "./errors.js";
import type { FunctionName } from "./registry.js";
export type { InvokeBody } from "./body.js";
export interface InvokeOptions {
    /** JSON for a plain object or array; multipart when any value is a File or Blob; a string, Blob, FormData … as it is. */
    body?: InvokeBody;
    /** Sent as they are, over the client's own. */
    headers?: Record<string, string>;
    /** Default POST, as Supabase's client sends. */
    method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" | "HEAD";
    /** A sub-path after the function's name, e.g. `/users/42` (functions route on it). */
    path?: string;
    signal?: AbortSignal;
}
/** `data` on success, `error` otherwise; `response` whenever an answer arrived. */
export type InvokeResult<T = unknown> = {
    data: T;
    error: null;
    response: Response;
} | {
    data: null;
    error: FunctionsHttpError | FunctionsRelayError | FunctionsFetchError;
    response?: Response;
};
/** Calls HTTP functions at `/v1/{app}/fn/{name}`. */
export declare class FunctionsClient {
    #private;
    constructor(connection: Connection);
    /**
     * Calls a function. Never throws: `error` is a {@link FunctionsHttpError} (the function answered 400 or more),
     * a {@link FunctionsRelayError} (Isola refused or failed the call; `x-relay-error: true`) or a
     * {@link FunctionsFetchError} (no answer at all), as @supabase/functions-js classifies them.
     */
    invoke<T = unknown>(name: FunctionName, options?: InvokeOptions): Promise<InvokeResult<T>>;
}

import { type AccessToken } from "./connection.js";
import { FunctionsClient } from "./functions.js";
import { RealtimeClient, type WebSocketClass } from "./realtime.js";
import type { FnArgs, FnResult, TypedFunctionName } from "./registry.js";
export interface ClientOptions {
    /** The app's anon key (browsers), or an API key (servers). Sent as `apikey`, and as the bearer token when there is no user. */
    apiKey?: string;
    /** The signed-in user's token, or a function returning the current one. */
    accessToken?: AccessToken;
    /** The app's service key, for {@link IsolaClient.asServiceRole}: keep it on servers. */
    serviceKey?: string;
    /** Default `default`. */
    app?: string;
    /** Headers sent with every call. */
    headers?: Record<string, string>;
    /** A fetch to use instead of the platform's. */
    fetch?: typeof fetch;
    /** A WebSocket class for `realtime` where the platform has none (Node 20 without --experimental-websocket). */
    WebSocket?: WebSocketClass;
}
/** A client for one app of one node: HTTP functions, typed functions and the realtime socket. */
export declare class IsolaClient {
    #private;
    readonly functions: FunctionsClient;
    constructor(url: string, options?: ClientOptions);
    /** The same node and app as the service (`ctx.auth.role` is `service`), with the service key; for servers only. */
    get asServiceRole(): IsolaClient;
    /** The realtime socket of the app, opened on first use. */
    get realtime(): RealtimeClient;
    /** Uses this user token from now on (for calls; the realtime socket takes it when it next opens). */
    setAuth(accessToken: AccessToken | undefined): void;
    /**
     * Calls a typed function (`POST /v1/{app}/api/fn/{name}`, args as JSON) and returns its result. Throws an
     * {@link IsolaError} with the API's code (`INVALID_ARGS` naming the path, `AUTH_REQUIRED`, the function's own
     * `ctx.error` code …), or a {@link FunctionsFetchError} when no answer came.
     */
    callFn<Name extends TypedFunctionName>(name: Name, args: FnArgs<Name>): Promise<FnResult<Name>>;
}
/** A client for `url` (the node, e.g. `http://127.0.0.1:8787`) and one app. */
export declare function createClient(url: string, options?: ClientOptions): IsolaClient;

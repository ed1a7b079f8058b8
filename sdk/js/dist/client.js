import { appUrl, authHeaders } from "./connection.js";
import { FunctionsFetchError, IsolaError } from "./errors.js";
import { FunctionsClient } from "./functions.js";
import { RealtimeClient } from "./realtime.js";
/** A client for one app of one node: HTTP functions, typed functions and the realtime socket. */
export class IsolaClient {
    functions;
    #connection;
    #options;
    #realtime;
    constructor(url, options = {}) {
        this.#options = options;
        this.#connection = {
            url: url.replace(/\/+$/, ""),
            app: options.app ?? "default",
            apiKey: options.apiKey,
            accessToken: options.accessToken,
            fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
            headers: { ...options.headers },
        };
        this.functions = new FunctionsClient(this.#connection);
    }
    /** The same node and app as the service (`ctx.auth.role` is `service`), with the service key; for servers only. */
    get asServiceRole() {
        const serviceKey = this.#options.serviceKey;
        if (serviceKey === undefined) {
            throw new Error("asServiceRole needs the app's service key: createClient(url, { serviceKey })");
        }
        const { accessToken: _user, ...rest } = this.#options;
        return new IsolaClient(this.#connection.url, { ...rest, apiKey: serviceKey });
    }
    /** The realtime socket of the app, opened on first use. */
    get realtime() {
        this.#realtime ??= new RealtimeClient(this.#connection, this.#options.WebSocket);
        return this.#realtime;
    }
    /** Uses this user token from now on (for calls; the realtime socket takes it when it next opens). */
    setAuth(accessToken) {
        this.#connection.accessToken = accessToken;
    }
    /**
     * Calls a typed function (`POST /v1/{app}/api/fn/{name}`, args as JSON) and returns its result. Throws an
     * {@link IsolaError} with the API's code (`INVALID_ARGS` naming the path, `AUTH_REQUIRED`, the function's own
     * `ctx.error` code …), or a {@link FunctionsFetchError} when no answer came.
     */
    async callFn(name, args) {
        let response;
        try {
            response = await this.#connection.fetch(appUrl(this.#connection, "api", "fn", name), {
                method: "POST",
                headers: { ...this.#connection.headers, ...(await authHeaders(this.#connection)), "Content-Type": "application/json" },
                body: JSON.stringify(args ?? {}),
            });
        }
        catch (cause) {
            throw new FunctionsFetchError(cause);
        }
        const text = await response.text();
        const value = text.length === 0 ? null : parseJson(text);
        if (!response.ok) {
            const error = value?.error;
            throw new IsolaError(error?.code ?? `HTTP_${response.status}`, error?.message ?? (text.slice(0, 300) || `status ${response.status}`), response.status, error?.field);
        }
        return value;
    }
}
/** A client for `url` (the node, e.g. `http://127.0.0.1:8787`) and one app. */
export function createClient(url, options = {}) {
    return new IsolaClient(url, options);
}
function parseJson(text) {
    try {
        return JSON.parse(text);
    }
    catch {
        return text;
    }
}

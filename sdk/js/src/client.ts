import { appUrl, authHeaders, type AccessToken, type Connection } from "./connection.js";
import { FunctionsFetchError, IsolaError } from "./errors.js";
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
export class IsolaClient {
  readonly functions: FunctionsClient;
  readonly #connection: Connection;
  readonly #options: ClientOptions;
  #realtime: RealtimeClient | undefined;

  constructor(url: string, options: ClientOptions = {}) {
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
  get asServiceRole(): IsolaClient {
    const serviceKey = this.#options.serviceKey;
    if (serviceKey === undefined) {
      throw new Error("asServiceRole needs the app's service key: createClient(url, { serviceKey })");
    }

    const { accessToken: _user, ...rest } = this.#options;
    return new IsolaClient(this.#connection.url, { ...rest, apiKey: serviceKey });
  }

  /** The realtime socket of the app, opened on first use. */
  get realtime(): RealtimeClient {
    this.#realtime ??= new RealtimeClient(this.#connection, this.#options.WebSocket);
    return this.#realtime;
  }

  /** Uses this user token from now on (for calls; the realtime socket takes it when it next opens). */
  setAuth(accessToken: AccessToken | undefined): void {
    this.#connection.accessToken = accessToken;
  }

  /**
   * Calls a typed function (`POST /v1/{app}/api/fn/{name}`, args as JSON) and returns its result. Throws an
   * {@link IsolaError} with the API's code (`INVALID_ARGS` naming the path, `AUTH_REQUIRED`, the function's own
   * `ctx.error` code …), or a {@link FunctionsFetchError} when no answer came.
   */
  async callFn<Name extends TypedFunctionName>(name: Name, args: FnArgs<Name>): Promise<FnResult<Name>> {
    let response: Response;
    try {
      response = await this.#connection.fetch(appUrl(this.#connection, "api", "fn", name), {
        method: "POST",
        headers: { ...this.#connection.headers, ...(await authHeaders(this.#connection)), "Content-Type": "application/json" },
        body: JSON.stringify(args ?? {}),
      });
    } catch (cause) {
      throw new FunctionsFetchError(cause);
    }

    const text = await response.text();
    const value: unknown = text.length === 0 ? null : parseJson(text);
    if (!response.ok) {
      const error = (value as { error?: { code?: string; message?: string; field?: string } } | null)?.error;
      throw new IsolaError(error?.code ?? `HTTP_${response.status}`, error?.message ?? (text.slice(0, 300) || `status ${response.status}`),
        response.status, error?.field);
    }

    return value as FnResult<Name>;
  }
}

/** A client for `url` (the node, e.g. `http://127.0.0.1:8787`) and one app. */
export function createClient(url: string, options: ClientOptions = {}): IsolaClient {
  return new IsolaClient(url, options);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

import { decodeResponse, encodeBody, type InvokeBody } from "./body.js";
import { appUrl, authHeaders, type Connection } from "./connection.js";
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
export type InvokeResult<T = unknown> =
  | { data: T; error: null; response: Response }
  | { data: null; error: FunctionsHttpError | FunctionsRelayError | FunctionsFetchError; response?: Response };

/** Calls HTTP functions at `/v1/{app}/fn/{name}`. */
export class FunctionsClient {
  readonly #connection: Connection;

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  /**
   * Calls a function. Never throws: `error` is a {@link FunctionsHttpError} (the function answered 400 or more),
   * a {@link FunctionsRelayError} (Isola refused or failed the call; `x-relay-error: true`) or a
   * {@link FunctionsFetchError} (no answer at all), as @supabase/functions-js classifies them.
   */
  async invoke<T = unknown>(name: FunctionName, options: InvokeOptions = {}): Promise<InvokeResult<T>> {
    const headers: Record<string, string> = { ...this.#connection.headers, ...(await authHeaders(this.#connection)) };
    let body: BodyInit | undefined;
    if (options.body !== undefined && options.body !== null) {
      const encoded = encodeBody(options.body);
      body = encoded.body;
      if (encoded.contentType !== undefined) {
        headers["Content-Type"] = encoded.contentType;
      }
    }

    // The caller's headers win, whatever their case (a second Content-Type would conflict).
    for (const [header, value] of Object.entries(options.headers ?? {})) {
      for (const existing of Object.keys(headers)) {
        if (existing.toLowerCase() === header.toLowerCase()) {
          delete headers[existing];
        }
      }

      headers[header] = value;
    }

    let response: Response;
    try {
      const init: RequestInit & { duplex?: "half" } = { method: options.method ?? "POST", headers };
      if (body !== undefined) {
        init.body = body;
        if (body instanceof ReadableStream) {
          init.duplex = "half"; // fetch needs it to send a stream (Node, Deno, Chrome)
        }
      }

      if (options.signal !== undefined) {
        init.signal = options.signal;
      }

      response = await this.#connection.fetch(appUrl(this.#connection, "fn", name) + (options.path ?? ""), init);
    } catch (cause) {
      return { data: null, error: new FunctionsFetchError(cause) };
    }

    if (response.headers.get("x-relay-error") === "true") {
      return { data: null, error: new FunctionsRelayError(response), response };
    }

    if (!response.ok) {
      return { data: null, error: new FunctionsHttpError(response), response };
    }

    try {
      return { data: (await decodeResponse(response)) as T, error: null, response };
    } catch (cause) {
      // The answer broke off, or its JSON did not parse: no usable data arrived.
      return { data: null, error: new FunctionsFetchError(cause), response };
    }
  }
}

import { decodeResponse, encodeBody } from "./body.js";
import { appUrl, authHeaders } from "./connection.js";
import { FunctionsFetchError, FunctionsHttpError, FunctionsRelayError } from "./errors.js";
/** Calls HTTP functions at `/v1/{app}/fn/{name}`. */
export class FunctionsClient {
    #connection;
    constructor(connection) {
        this.#connection = connection;
    }
    /**
     * Calls a function. Never throws: `error` is a {@link FunctionsHttpError} (the function answered 400 or more),
     * a {@link FunctionsRelayError} (Isola refused or failed the call; `x-relay-error: true`) or a
     * {@link FunctionsFetchError} (no answer at all), as @supabase/functions-js classifies them.
     */
    async invoke(name, options = {}) {
        const headers = { ...this.#connection.headers, ...(await authHeaders(this.#connection)) };
        let body;
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
        let response;
        try {
            const init = { method: options.method ?? "POST", headers };
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
        }
        catch (cause) {
            return { data: null, error: new FunctionsFetchError(cause) };
        }
        if (response.headers.get("x-relay-error") === "true") {
            return { data: null, error: new FunctionsRelayError(response), response };
        }
        if (!response.ok) {
            return { data: null, error: new FunctionsHttpError(response), response };
        }
        try {
            return { data: (await decodeResponse(response)), error: null, response };
        }
        catch (cause) {
            // The answer broke off, or its JSON did not parse: no usable data arrived.
            return { data: null, error: new FunctionsFetchError(cause), response };
        }
    }
}

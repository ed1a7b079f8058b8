/** How `functions.invoke` sends a body and reads an answer, as @supabase/functions-js does, plus Base44's multipart rule. */
export type InvokeBody = Blob | ArrayBuffer | ArrayBufferView | FormData | URLSearchParams | ReadableStream<Uint8Array> | string | Record<string, unknown> | unknown[];
/** The body to send and the Content-Type it implies (none when fetch sets it, as for FormData with its boundary). */
export declare function encodeBody(body: InvokeBody): {
    body: BodyInit;
    contentType?: string;
};
/**
 * JSON (`application/json` and `+json` types) parsed, binary as a Blob, `text/event-stream` as the Response
 * itself (to read as it streams), multipart as FormData, anything else as text.
 */
export declare function decodeResponse(response: Response): Promise<unknown>;

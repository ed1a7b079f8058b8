/** How `functions.invoke` sends a body and reads an answer, as @supabase/functions-js does, plus Base44's multipart rule. */

export type InvokeBody =
  | Blob
  | ArrayBuffer
  | ArrayBufferView
  | FormData
  | URLSearchParams
  | ReadableStream<Uint8Array>
  | string
  | Record<string, unknown>
  | unknown[];

/** The body to send and the Content-Type it implies (none when fetch sets it, as for FormData with its boundary). */
export function encodeBody(body: InvokeBody): { body: BodyInit; contentType?: string } {
  if (typeof body === "string") {
    return { body, contentType: "text/plain" };
  }

  if (body instanceof Blob) {
    return { body, contentType: body.type || "application/octet-stream" };
  }

  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
    return { body: body as BodyInit, contentType: "application/octet-stream" };
  }

  if (body instanceof FormData || body instanceof URLSearchParams || body instanceof ReadableStream) {
    return { body };
  }

  if (!Array.isArray(body) && Object.values(body).some(isFile)) {
    return { body: toFormData(body) };
  }

  return { body: JSON.stringify(body), contentType: "application/json" };
}

function isFile(value: unknown): value is Blob {
  return value instanceof Blob || (Array.isArray(value) && value.some((item) => item instanceof Blob));
}

/**
 * Base44: an object with any File or Blob value goes as multipart/form-data. Files keep their name (a Blob is
 * named after its key), strings go as they are, and every other value as JSON text.
 */
function toFormData(values: Record<string, unknown>): FormData {
  const form = new FormData();
  for (const [key, value] of Object.entries(values)) {
    for (const item of Array.isArray(value) && value.some((v) => v instanceof Blob) ? value : [value]) {
      if (item === undefined) {
        continue;
      }

      if (item instanceof Blob) {
        form.append(key, item, typeof File !== "undefined" && item instanceof File ? item.name : key);
      } else {
        form.append(key, typeof item === "string" ? item : JSON.stringify(item));
      }
    }
  }

  return form;
}

/** Binary families read as a Blob (the rest of `image/*` and friends as text would corrupt them). */
const binaryTypes = /^(application\/(octet-stream|pdf|zip|gzip|wasm)|image\/(?!svg\+xml)|audio\/|video\/|font\/)/;

/**
 * JSON (`application/json` and `+json` types) parsed, binary as a Blob, `text/event-stream` as the Response
 * itself (to read as it streams), multipart as FormData, anything else as text.
 */
export async function decodeResponse(response: Response): Promise<unknown> {
  const type = (response.headers.get("Content-Type") ?? "text/plain").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json" || type.endsWith("+json")) {
    const text = await response.text();
    return text.length === 0 ? null : JSON.parse(text);
  }

  if (binaryTypes.test(type)) {
    return await response.blob();
  }

  if (type === "text/event-stream") {
    return response;
  }

  if (type === "multipart/form-data") {
    return await response.formData();
  }

  return await response.text();
}

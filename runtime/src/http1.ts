// A small HTTP/1.1 client over a Unix socket, used to reach the node:http server a function
// started. Not fetch(): through a unix "proxy" fetch sends absolute-form targets (req.url would
// be "http://host/path"), adds accept-encoding/user-agent/accept headers the caller never sent,
// and decompresses gzip bodies while keeping content-encoding. Here bytes pass through as sent.
import { NativeHeaders } from "./natives.ts";

export interface Http1Request {
  method: string;
  /** Origin-form target: path + query. */
  target: string;
  headers: Iterable<[string, string]>;
  body: ReadableStream<Uint8Array> | null;
  /** Closing the connection on abort is how the server learns the caller went away. */
  signal?: AbortSignal;
}

export interface Http1Response {
  status: number;
  statusText: string;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
}

const CRLF = "\r\n";
const MAX_HEAD = 64 * 1024;
const READ_SIZE = 16 * 1024;

// Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, never to the message.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);

function latin1Encode(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

function latin1Decode(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  while (bytes.length > 0) bytes = bytes.subarray(await conn.write(bytes));
}

/** Buffered reads from the connection. */
class ByteReader {
  private buf: Uint8Array = new Uint8Array(0);
  constructor(private readonly conn: Deno.Conn) {}

  /** Reads more bytes into the buffer; false at end of stream. */
  private async fill(): Promise<boolean> {
    const chunk = new Uint8Array(READ_SIZE);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    if (this.buf.length === 0) {
      this.buf = chunk.subarray(0, n);
    } else {
      const joined = new Uint8Array(this.buf.length + n);
      joined.set(this.buf);
      joined.set(chunk.subarray(0, n), this.buf.length);
      this.buf = joined;
    }
    return true;
  }

  private take(n: number): Uint8Array {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Bytes up to (excluding) `terminator`, which is consumed; null at end of stream. */
  async readUntil(terminator: string, limit: number): Promise<string | null> {
    const term = latin1Encode(terminator);
    let from = 0;
    for (;;) {
      for (let i = from; i + term.length <= this.buf.length; i++) {
        let match = true;
        for (let j = 0; j < term.length && match; j++) match = this.buf[i + j] === term[j];
        if (match) {
          const text = latin1Decode(this.buf.subarray(0, i));
          this.take(i + term.length);
          return text;
        }
      }
      from = Math.max(0, this.buf.length - term.length + 1);
      if (this.buf.length > limit) throw new Error("response head too large");
      if (!(await this.fill())) return null;
    }
  }

  /** Up to `max` bytes (at least one), or null at end of stream. */
  async readSome(max: number): Promise<Uint8Array | null> {
    if (this.buf.length === 0 && !(await this.fill())) return null;
    return this.take(Math.min(max, this.buf.length));
  }
}

function requestHead(req: Http1Request, host: string | null, chunked: boolean): string {
  let head = `${req.method} ${req.target} HTTP/1.1${CRLF}`;
  if (host) head += `host: ${host}${CRLF}`;
  for (const [name, value] of req.headers) {
    if (HOP_BY_HOP.has(name) || name === "host") continue;
    if (chunked && name === "content-length") continue;
    head += `${name}: ${value}${CRLF}`;
  }
  if (chunked) head += `transfer-encoding: chunked${CRLF}`;
  // One connection per request: nothing to pool, and the end of the body is unambiguous.
  return head + `connection: close${CRLF}${CRLF}`;
}

async function sendBody(
  conn: Deno.Conn,
  body: ReadableStream<Uint8Array>,
  chunked: boolean,
): Promise<void> {
  for await (const chunk of body) {
    if (chunk.length === 0) continue;
    if (chunked) {
      await writeAll(conn, latin1Encode(chunk.length.toString(16) + CRLF));
      await writeAll(conn, chunk);
      await writeAll(conn, latin1Encode(CRLF));
    } else {
      await writeAll(conn, chunk);
    }
  }
  if (chunked) await writeAll(conn, latin1Encode(`0${CRLF}${CRLF}`));
}

function parseHead(head: string): { status: number; statusText: string; headers: Headers } {
  const lines = head.split(CRLF);
  const statusLine = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? "");
  if (!statusLine) throw new Error(`malformed status line from the function's server: ${lines[0]}`);
  const headers = new NativeHeaders();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    try {
      headers.append(name, line.slice(colon + 1).trim());
    } catch {
      // A header Headers refuses cannot be forwarded anyway.
    }
  }
  return { status: Number(statusLine[1]), statusText: statusLine[2] ?? "", headers };
}

/** A body stream that yields what `next` returns until null, then closes the connection. */
function bodyStream(conn: Deno.Conn, next: () => Promise<Uint8Array | null>): ReadableStream<Uint8Array> {
  const close = () => {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await next();
        if (chunk === null) {
          controller.close();
          close();
        } else {
          controller.enqueue(chunk);
        }
      } catch (error) {
        controller.error(error);
        close();
      }
    },
    cancel: close,
  }, { highWaterMark: 0 });
}

function fixedLength(reader: ByteReader, length: number): () => Promise<Uint8Array | null> {
  let remaining = length;
  return async () => {
    if (remaining === 0) return null;
    const chunk = await reader.readSome(Math.min(remaining, READ_SIZE * 4));
    if (chunk === null) throw new Error("the function's server closed the connection mid-body");
    remaining -= chunk.length;
    return chunk;
  };
}

function chunkedBody(reader: ByteReader): () => Promise<Uint8Array | null> {
  let remaining = 0;
  let done = false;
  return async () => {
    if (done) return null;
    if (remaining === 0) {
      const sizeLine = await reader.readUntil(CRLF, 1024);
      if (sizeLine === null) throw new Error("the function's server closed the connection mid-body");
      remaining = parseInt(sizeLine.split(";")[0].trim(), 16);
      if (!Number.isFinite(remaining) || remaining < 0) throw new Error("bad chunk size");
      if (remaining === 0) {
        // Trailers are dropped: Response has no place for them.
        while (((await reader.readUntil(CRLF, MAX_HEAD)) ?? "") !== "");
        done = true;
        return null;
      }
    }
    const chunk = await reader.readSome(remaining);
    if (chunk === null) throw new Error("the function's server closed the connection mid-body");
    remaining -= chunk.length;
    if (remaining === 0 && (await reader.readUntil(CRLF, 2)) === null) {
      throw new Error("the function's server closed the connection mid-body");
    }
    return chunk;
  };
}

/** Sends one request over a fresh connection to the Unix socket at `path`. */
export async function http1Request(
  path: string,
  req: Http1Request,
  host: string | null,
): Promise<Http1Response> {
  const conn = await Deno.connect({ transport: "unix", path });
  const reader = new ByteReader(conn);
  req.signal?.addEventListener("abort", () => {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }, { once: true });
  try {
    const given = new NativeHeaders([...req.headers]);
    const chunked = req.body !== null && !given.has("content-length");
    const head = requestHead(req, host, chunked);
    // Sending runs alongside reading: a server may answer before it has read the whole body.
    const sending = (async () => {
      await writeAll(conn, latin1Encode(head));
      if (req.body) await sendBody(conn, req.body, chunked);
    })();
    sending.catch(() => {
      // The server stopped reading (it answered early or went away); the response says which.
    });

    for (;;) {
      const text = await reader.readUntil(CRLF + CRLF, MAX_HEAD);
      if (text === null) throw new Error("the function's server closed the connection without answering");
      const { status, statusText, headers } = parseHead(text);
      if (status >= 100 && status < 200) continue; // 100 Continue, 103 Early Hints: informational.
      const noBody = req.method === "HEAD" || status === 204 || status === 304;
      const transfer = /chunked/i.test(text.match(/\r\ntransfer-encoding:([^\r]*)/i)?.[1] ?? "");
      const length = headers.get("content-length");
      let body: ReadableStream<Uint8Array> | null = null;
      if (noBody) {
        conn.close();
      } else if (transfer) {
        body = bodyStream(conn, chunkedBody(reader));
      } else if (length !== null && /^\d+$/.test(length)) {
        body = bodyStream(conn, fixedLength(reader, Number(length)));
      } else {
        body = bodyStream(conn, () => reader.readSome(READ_SIZE * 4));
      }
      return { status, statusText, headers, body };
    }
  } catch (error) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
    throw error;
  }
}

// The worker → host direction of the protocol (../PROTOCOL.md, "Calls"): newline-delimited JSON
// over <workerDir>/host.sock. Each call carries its invocation's capability; the host answers
// every call with {id, ok, value} or {id, ok: false, error}. ctx.db, ctx.events and
// ctx.scheduler are built on hostCall().

// Taken before any function code runs, so a function cannot intercept the channel's frames.
const connectUnix = Deno.connect;
const stringify = JSON.stringify;
const parse = JSON.parse;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An error the host answered with: `code` and `message`, plus fields such as PostgreSQL's `detail`. */
export class HostCallError extends Error {
  code: string;
  [field: string]: unknown;

  constructor(error: { code?: unknown; message?: unknown; [field: string]: unknown }) {
    super(typeof error.message === "string" ? error.message : "the host refused the call");
    this.name = "HostCallError";
    this.code = typeof error.code === "string" ? error.code : "HOST_ERROR";
    for (const [key, value] of Object.entries(error)) {
      if (key !== "message" && key !== "code" && key !== "name" && key !== "stack") this[key] = value;
    }
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

let socketPath = "";
let connection: Promise<Deno.Conn> | null = null;
let nextId = 1;
const pending = new Map<number, Pending>();
let releases: string[] = [];
let releaseTimer: ReturnType<typeof setTimeout> | null = null;

export function setHostSocket(path: string): void {
  socketPath = path;
}

function failAll(error: Error): void {
  for (const entry of pending.values()) entry.reject(error);
  pending.clear();
}

async function readAnswers(conn: Deno.Conn): Promise<void> {
  const chunk = new Uint8Array(64 * 1024);
  let carry = "";
  try {
    while (true) {
      const n = await conn.read(chunk);
      if (n === null) break;
      carry += decoder.decode(chunk.subarray(0, n), { stream: true });
      let newline: number;
      while ((newline = carry.indexOf("\n")) >= 0) {
        const line = carry.slice(0, newline);
        carry = carry.slice(newline + 1);
        const answer = parse(line) as { id: number; ok: boolean; value?: unknown; error?: Record<string, unknown> };
        const entry = pending.get(answer.id);
        if (!entry) continue;
        pending.delete(answer.id);
        if (answer.ok) entry.resolve(answer.value ?? null);
        else entry.reject(new HostCallError(answer.error ?? {}));
      }
    }
  } catch {
    // The channel broke; every waiting call learns it below.
  } finally {
    connection = null;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
    failAll(new HostCallError({ code: "HOST_UNAVAILABLE", message: "the connection to the host was lost" }));
  }
}

function connect(): Promise<Deno.Conn> {
  connection ??= (async () => {
    const conn = await connectUnix({ transport: "unix", path: socketPath });
    readAnswers(conn);
    return conn;
  })().catch((error) => {
    connection = null;
    throw new HostCallError({ code: "HOST_UNAVAILABLE", message: `cannot reach the host: ${error}` });
  });
  return connection;
}

async function send(frame: unknown): Promise<void> {
  const conn = await connect();
  let bytes = encoder.encode(stringify(frame) + "\n");
  while (bytes.length > 0) bytes = bytes.subarray(await conn.write(bytes));
}

/** Opens the channel ahead of need; a failure is retried by the next call. */
export function connectHost(): void {
  connect().catch(() => {});
}

/** One call to the host for the invocation holding `capability`. */
export function hostCall(capability: string | null, op: string, args: unknown): Promise<unknown> {
  if (!capability) {
    return Promise.reject(new HostCallError({
      code: "NO_CAPABILITY",
      message: `'${op}' is only available while an invocation runs (or its waitUntil work)`,
    }));
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    send({ id, op, cap: capability, args }).catch((error) => {
      pending.delete(id);
      reject(error);
    });
  });
}

/**
 * Ends a capability on the host: the invocation's response is sent and its waitUntil work settled.
 * Batched, so a busy worker sends one frame for many invocations.
 */
export function releaseCapability(capability: string): void {
  releases.push(capability);
  if (releaseTimer !== null) return;
  releaseTimer = setTimeout(() => {
    releaseTimer = null;
    const caps = releases;
    releases = [];
    // Only when the channel is up: a worker that never called the host has nothing to release but
    // tokens that the host drops when they expire or the worker stops.
    if (connection) send({ id: 0, op: "release", args: { caps } }).catch(() => {});
  }, 5);
}

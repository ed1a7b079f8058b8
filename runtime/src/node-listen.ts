// Shape 2: node servers (node:http createServer().listen, Express app.listen, Hono's node server,
// Fastify). In Deno, node:http's listen opens a real port without going through Deno.serve, so
// Server.prototype.listen is patched to bind a Unix socket in <workerDir>/tmp instead (only this
// sandbox may connect to it, unlike a 127.0.0.1 port), and invocations are relayed to it.
import { NativeResponse, NativeHeaders, NativeWebSocket } from "./natives.ts";
import type * as NodeHttp from "node:http";
import type { Invocation, Invoke } from "./types.ts";
import { runInInvocation } from "./context.ts";
import { logError } from "./logs.ts";
import { keepInTmp } from "./tmp.ts";
import { http1Request } from "./http1.ts";
import { waitUntil } from "./activity.ts";
import { bridgeSockets, isWebSocketUpgrade, upgradeWebSocket } from "./websocket.ts";

/** Private header naming the invocation a relayed request belongs to; removed before the app sees it. */
const TOKEN_HEADER = "x-isola-relay-token";
/** Private header carrying a relayed WebSocket handshake's real Host (see relayWebSocket). */
const HOST_HEADER = "x-isola-relay-host";
/**
 * Authority of relayed WebSocket handshakes. The relay goes through a Unix-socket "proxy", so this
 * name is never resolved; the request's own host (the node's address, e.g. 127.0.0.1:8787) would be
 * refused by the worker's network rules, which close the node's port to function code.
 */
const RELAY_AUTHORITY = "isola-relay.invalid";
const LISTEN_TIMEOUT_MS = 10_000;

interface Relayed {
  inv: Invocation;
  /** Reports an error thrown by the app's request listener. */
  fail(error: unknown): void;
}

interface NodeTarget {
  socketPath: string;
  listening: Promise<void>;
}

let target: NodeTarget | null = null;
let sockets = 0;
const relayed = new Map<string, Relayed>();

export function nodeTarget(): NodeTarget | null {
  return target;
}

/** The port/host the app asked for, so server.address() can answer as it expects. */
function requestedAddress(args: unknown[]): { port: number; host: string } {
  const [first, second] = args;
  if (first !== null && typeof first === "object") {
    const options = first as { port?: unknown; host?: unknown };
    return { port: Number(options.port ?? 0) || 0, host: String(options.host ?? "0.0.0.0") };
  }
  const port = Number(first);
  return { port: Number.isFinite(port) ? port : 0, host: typeof second === "string" ? second : "0.0.0.0" };
}

/** Takes the relay token off an incoming request and finds the invocation it names. */
function claim(req: NodeHttp.IncomingMessage): Relayed | undefined {
  const token = req.headers[TOKEN_HEADER];
  if (typeof token !== "string") return undefined;
  delete req.headers[TOKEN_HEADER];
  const host = req.headers[HOST_HEADER];
  delete req.headers[HOST_HEADER];
  if (typeof host === "string") req.headers.host = host;
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    const name = raw[i].toLowerCase();
    if (name === TOKEN_HEADER || name === HOST_HEADER) raw.splice(i, 2);
    else if (name === "host" && typeof host === "string") raw[i + 1] = host;
  }
  // WebSocket handshakes arrive through a unix "proxy" client, in absolute form.
  if (req.url && /^[a-z]+:\/\//i.test(req.url)) {
    const url = new URL(req.url);
    req.url = url.pathname + url.search;
  }
  return relayed.get(token);
}

/**
 * Runs each 'request' listener inside the invocation's async context, and turns a listener that
 * throws (or rejects) into a FUNCTION_ERROR instead of an uncaught exception.
 */
function dispatchRequest(
  server: NodeHttp.Server,
  args: unknown[],
  entry: Relayed,
): boolean {
  const [, res] = args as [NodeHttp.IncomingMessage, NodeHttp.ServerResponse];
  const listeners = server.rawListeners("request") as ((...a: unknown[]) => unknown)[];
  const failed = (error: unknown) => {
    entry.fail(error);
    res.destroy();
  };
  for (const listener of listeners) {
    try {
      const result = listener.apply(server, args);
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  }
  return listeners.length > 0;
}

function hookServer(server: NodeHttp.Server, requested: { port: number; host: string }): void {
  const emit = server.emit as (this: NodeHttp.Server, event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = function (this: NodeHttp.Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === "request" || event === "upgrade") {
      const entry = claim(args[0] as NodeHttp.IncomingMessage);
      if (entry) {
        return runInInvocation(entry.inv, () =>
          event === "request" ? dispatchRequest(this, args, entry) : emit.call(this, event, ...args));
      }
    }
    return emit.call(this, event, ...args);
  } as typeof server.emit;
  // Apps print or reuse the port they asked for; the real address is a socket path.
  server.address = () => ({
    address: requested.host,
    family: requested.host.includes(":") ? "IPv6" : "IPv4",
    port: requested.port || 8000,
  });
}

/** Patches node:http before the bundle is imported. */
export function installNodeListen(http: typeof NodeHttp, tmpDir: string): void {
  const listen = http.Server.prototype.listen;
  http.Server.prototype.listen = function (this: NodeHttp.Server, ...args: unknown[]) {
    const callback = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
    const name = `.isola-${++sockets}.sock`;
    const socketPath = `${tmpDir}/${name}`;
    keepInTmp(name);
    hookServer(this, requestedAddress(args));
    if (!target) {
      const listening = new Promise<void>((resolve, reject) => {
        this.once("listening", () => resolve());
        this.once("error", reject);
      });
      listening.catch(() => {}); // Reported by the load that awaits it.
      target = { socketPath, listening };
    }
    return listen.call(this, { path: socketPath }, callback as (() => void) | undefined);
  } as typeof http.Server.prototype.listen;
}

/** Waits (bounded) for the captured server to be listening. */
export async function nodeListening(node: NodeTarget): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the node server did not start listening within ${LISTEN_TIMEOUT_MS} ms`)),
      LISTEN_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([node.listening, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function register(inv: Invocation): { token: string; failure: Promise<never>; done(): void } {
  const token = crypto.randomUUID();
  let answered = false;
  const { promise: failure, reject } = Promise.withResolvers<never>();
  failure.catch(() => {}); // Only awaited until the response head arrives.
  relayed.set(token, {
    inv,
    fail(error) {
      if (answered) logError(error, undefined, inv.id);
      else reject(error);
    },
  });
  return {
    token,
    failure,
    done() {
      answered = true;
      relayed.delete(token);
    },
  };
}

async function relayWebSocket(node: NodeTarget, inv: Invocation): Promise<Response> {
  const url = new URL(inv.request.url);
  const { token, failure, done } = register(inv);
  const headers = new NativeHeaders();
  for (const [name, value] of inv.request.headers) {
    if (name.startsWith("sec-websocket-") || ["upgrade", "connection", "host"].includes(name)) continue;
    headers.append(name, value);
  }
  headers.set(TOKEN_HEADER, token);
  headers.set(HOST_HEADER, url.host);
  const protocols = (inv.request.headers.get("sec-websocket-protocol") ?? "")
    .split(",").map((p) => p.trim()).filter((p) => p !== "");
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: node.socketPath } });
  const back = new NativeWebSocket(`ws://${RELAY_AUTHORITY}${url.pathname}${url.search}`, { client, headers, protocols });
  // The app may send as soon as its handshake is done, before the caller's side is bridged.
  const early: (string | ArrayBuffer | Blob)[] = [];
  back.binaryType = "arraybuffer";
  back.onmessage = (event) => early.push(event.data);
  try {
    const opened = new Promise<void>((resolve, reject) => {
      back.onopen = () => resolve();
      back.onerror = () => reject(new Error("the function's server refused the WebSocket upgrade"));
    });
    await Promise.race([opened, failure]);
  } catch (error) {
    back.close();
    client.close();
    throw error;
  } finally {
    done();
  }
  const { socket, response } = upgradeWebSocket(inv.request, { protocol: back.protocol || undefined });
  // An open socket is work in progress: the worker is not idle until it closes.
  waitUntil(bridgeSockets(socket, back, early).finally(() => client.close()));
  return response;
}

export function nodeInvoke(node: NodeTarget): Invoke {
  return async (inv) => {
    if (isWebSocketUpgrade(inv.request)) return relayWebSocket(node, inv);
    const url = new URL(inv.request.url);
    const { token, failure, done } = register(inv);
    const headers: [string, string][] = [...inv.request.headers, [TOKEN_HEADER, token]];
    const relay = http1Request(node.socketPath, {
      method: inv.request.method,
      target: url.pathname + url.search,
      headers,
      body: inv.request.body,
      signal: inv.request.signal,
    }, url.host);
    try {
      const res = await Promise.race([relay, failure]);
      return new NativeResponse(res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (error) {
      // The listener threw: whatever the relay still yields is dropped, its connection closed.
      relay.then((res) => res.body?.cancel(), () => {});
      throw error;
    } finally {
      done();
    }
  };
}

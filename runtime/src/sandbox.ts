// Checks below user code (decision 009), installed before the bundle is imported:
// - no TCP listen from function code (Deno.serve and node servers are served by the runtime over
//   Unix sockets; a listening port would be an unauthenticated, unlogged server on the host);
// - unless the function allows private addresses, no connection to an IPv6 literal in a private,
//   unique-local or link-local range (Deno's --deny-net, which holds for IPv4 ranges and resolved
//   addresses, takes IPv6 addresses only one by one);
// - harmless answers for the host facts a function has no business reading (load, interfaces);
// - a log line when a write fails because the worker's tmp quota is full.
import { emit, onLoggedError } from "./logs.ts";

export interface SandboxOptions {
  allowPrivate: boolean;
  tmpLimitMb: number | null;
}

let options: SandboxOptions = { allowPrivate: false, tmpLimitMb: null };

/** Reads `--allow-private` and `--tmp-limit-mb=N` after the worker dir in Deno.args. */
export function sandboxOptions(args: readonly string[]): SandboxOptions {
  const limit = args.find((a) => a.startsWith("--tmp-limit-mb="));
  return {
    allowPrivate: args.includes("--allow-private"),
    tmpLimitMb: limit ? Number(limit.slice("--tmp-limit-mb=".length)) || null : null,
  };
}

function refuse(message: string): never {
  throw new Deno.errors.NotCapable(message);
}

function refuseListen(what: string): never {
  refuse(`${what}: functions may not listen on a network port (Deno.serve and node servers are served by the runtime)`);
}

function parseIPv4(text: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

function privateIPv4([a, b]: number[]): boolean {
  return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || a >= 224;
}

/** The eight 16-bit groups of an IPv6 literal (brackets, zone and embedded IPv4 allowed), or null. */
function parseIPv6(text: string): number[] | null {
  let t = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const zone = t.indexOf("%");
  if (zone >= 0) t = t.slice(0, zone);
  if (!t.includes(":")) return null;
  const lastColon = t.lastIndexOf(":");
  const tail = t.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseIPv4(tail);
    if (!v4) return null;
    t = t.slice(0, lastColon + 1) + ((v4[0] << 8) | v4[1]).toString(16) + ":" + ((v4[2] << 8) | v4[3]).toString(16);
  }
  const halves = t.split("::");
  if (halves.length > 2) return null;
  const group = (s: string) => (s === "" ? [] : s.split(":").map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const head = group(halves[0]);
  const rest = halves.length === 2 ? group(halves[1]) : [];
  const total = head.length + rest.length;
  if (halves.length === 1 && total !== 8) return null;
  if (total > 8 || [...head, ...rest].some(Number.isNaN)) return null;
  return [...head, ...new Array(8 - total).fill(0), ...rest];
}

/** Whether an address literal is loopback, private, unique-local, link-local or unspecified (any form Deno's list misses). */
export function isPrivateLiteral(host: string): boolean {
  const v4 = parseIPv4(host);
  if (v4) return privateIPv4(v4);
  const g = parseIPv6(host);
  if (!g) return false;
  const embedded = [g[6] >> 8, g[6] & 255, g[7] >> 8, g[7] & 255];
  if (g.slice(0, 6).every((x) => x === 0)) return true; // ::, ::1 and IPv4-compatible ::a.b.c.d
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return privateIPv4(embedded); // IPv4-mapped
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return privateIPv4(embedded); // NAT64
  if (g[0] === 0x2002) return privateIPv4([g[1] >> 8, g[1] & 255, g[2] >> 8, g[2] & 255]); // 6to4
  return (g[0] & 0xfe00) === 0xfc00 || (g[0] & 0xffc0) === 0xfe80 || (g[0] & 0xff00) === 0xff00;
}

function checkHost(host: string | undefined, port: unknown, what: string): void {
  if (options.allowPrivate || host === undefined) return;
  if (isPrivateLiteral(host)) {
    refuse(`${what}: "${host}:${String(port)}" is a loopback, private or link-local address; functions reach the public internet only unless deployed with network.allowPrivate`);
  }
}

function checkUrl(input: unknown, what: string): void {
  if (options.allowPrivate) return;
  let href: string | undefined;
  if (typeof input === "string") href = input;
  else if (input instanceof URL) href = input.href;
  else if (input instanceof Request) href = input.url;
  if (href === undefined) return;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return; // The real call reports the bad URL.
  }
  checkHost(url.hostname, url.port, what);
}

const NO_SPACE = /No space left on device|os error 28|ENOSPC/;

/** Errors already reported, so a write error that is also thrown uncaught is noted once. */
const noted = new WeakSet<object>();

/** Says in the invocation log that a failed write hit the worker's tmp quota. */
export function noteNoSpace(error: unknown, inv?: string | null): void {
  if (options.tmpLimitMb === null) return;
  if (error !== null && typeof error === "object") {
    if (noted.has(error)) return;
    noted.add(error);
  }
  const text = error instanceof Error ? `${error.message} ${(error as { code?: string }).code ?? ""}` : String(error);
  if (NO_SPACE.test(text)) {
    emit("error", `tmp is full: this worker's /tmp holds at most ${options.tmpLimitMb} MB; the write was refused (No space left on device)`, inv);
  }
}

function watchWrites<T extends (...args: never[]) => unknown>(fn: T): T {
  return function (this: unknown, ...args: Parameters<T>) {
    try {
      const result = fn.apply(this, args);
      if (result instanceof Promise) {
        return result.catch((error) => {
          noteNoSpace(error);
          throw error;
        });
      }
      return result;
    } catch (error) {
      noteNoSpace(error);
      throw error;
    }
  } as T;
}

/** Replaces the Deno and web network entry points; runs once, before any function code. */
export function installSandbox(given: SandboxOptions): void {
  options = given;
  // Writes through node:fs or streams are not wrapped: their ENOSPC is noted when it is logged.
  onLoggedError(noteNoSpace);
  const D = Deno as unknown as Record<string, unknown>;
  const define = (name: string, value: unknown) =>
    Object.defineProperty(Deno, name, { value, writable: true, configurable: true, enumerable: true });

  const listen = Deno.listen;
  type Endpoint = { transport?: string; hostname?: string; port?: number };
  define("listen", function (opts: Endpoint) {
    if (opts?.transport !== "unix") refuseListen("Deno.listen");
    return listen(opts as never);
  });
  define("listenTls", function () {
    refuseListen("Deno.listenTls");
  });
  if (typeof D.listenDatagram === "function") {
    const listenDatagram = D.listenDatagram as (o: { transport?: string }) => unknown;
    define("listenDatagram", function (opts: { transport?: string }) {
      if (opts?.transport !== "unixpacket") refuseListen("Deno.listenDatagram");
      return listenDatagram(opts);
    });
  }

  const connect = Deno.connect;
  define("connect", function (opts: Endpoint) {
    if (opts?.transport !== "unix") checkHost(opts?.hostname, opts?.port, "Deno.connect");
    return connect(opts as never);
  });
  const connectTls = Deno.connectTls;
  define("connectTls", function (opts: Deno.ConnectTlsOptions) {
    checkHost(opts?.hostname, opts?.port, "Deno.connectTls");
    return connectTls(opts);
  });

  const fetch = globalThis.fetch;
  globalThis.fetch = function (input: RequestInfo | URL, init?: RequestInit) {
    checkUrl(input, "fetch");
    return fetch(input, init);
  };
  const WebSocket = globalThis.WebSocket;
  globalThis.WebSocket = new Proxy(WebSocket, {
    construct(target, args, newTarget) {
      checkUrl(args[0], "WebSocket");
      return Reflect.construct(target, args, newTarget);
    },
  });

  // Host facts edge-runtime answers with constants: the host's load and its addresses.
  define("loadavg", () => [0, 0, 0]);
  define("networkInterfaces", () => []);

  for (const name of ["writeFile", "writeTextFile", "writeFileSync", "writeTextFileSync", "copyFile", "copyFileSync"]) {
    if (typeof D[name] === "function") define(name, watchWrites(D[name] as (...args: never[]) => unknown));
  }
  const fsFile = (Deno as unknown as { FsFile?: { prototype: Record<string, unknown> } }).FsFile?.prototype;
  if (fsFile) {
    for (const name of ["write", "writeSync"]) {
      if (typeof fsFile[name] === "function") fsFile[name] = watchWrites(fsFile[name] as (...args: never[]) => unknown);
    }
  }
}

/** The same rules for node:net and node:os, applied with the runtime's deferred node set-up. */
export function installNodeSandbox(
  net: typeof import("node:net"),
  os: typeof import("node:os"),
  dgram?: typeof import("node:dgram"),
): void {
  if (dgram) {
    // A UDP socket bound to a chosen port is a server; port 0 (a client's own ephemeral port) stays allowed.
    const Dgram = dgram.Socket.prototype as unknown as { bind: (...args: unknown[]) => unknown };
    const bind = Dgram.bind;
    Dgram.bind = function (this: unknown, ...args: unknown[]) {
      const first = args[0];
      const port = first !== null && typeof first === "object" ? (first as { port?: unknown }).port : first;
      if (port !== undefined && typeof port !== "function" && Number(port) !== 0) refuseListen("dgram.Socket.bind");
      return bind.apply(this, args);
    };
  }
  const Server = net.Server.prototype as unknown as { listen: (...args: unknown[]) => unknown };
  const serverListen = Server.listen;
  Server.listen = function (this: unknown, ...args: unknown[]) {
    const first = args[0];
    const isPath = typeof first === "string" && !/^\d+$/.test(first) ||
      (first !== null && typeof first === "object" && typeof (first as { path?: unknown }).path === "string");
    if (!isPath) refuseListen("net.Server.listen");
    return serverListen.apply(this, args);
  };
  const Socket = net.Socket.prototype as unknown as { connect: (...args: unknown[]) => unknown };
  const socketConnect = Socket.connect;
  Socket.connect = function (this: unknown, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    if (first !== null && typeof first === "object") {
      const o = first as { host?: string; port?: unknown; path?: unknown };
      if (typeof o.path !== "string") checkHost(o.host, o.port, "net.connect");
    } else if (typeof args[1] === "string") {
      checkHost(args[1], first, "net.connect");
    }
    return socketConnect.apply(this, args);
  };
  const osObject = os as unknown as Record<string, unknown>;
  try {
    osObject.loadavg = () => [0, 0, 0];
    osObject.networkInterfaces = () => ({});
  } catch {
    // A frozen namespace: the named imports answer NotCapable instead.
  }
}

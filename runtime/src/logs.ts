// Stdout carries the protocol (ISOLA_READY, then one JSON log record per line), so every way a
// function can print is turned into records: console.*, ctx.log.*, process.stdout/stderr and
// Deno.stdout. Records name the invocation they belong to (AsyncLocalStorage, see context.ts).
import { currentInvocation } from "./context.ts";
import type { FunctionLogger, LogLevel } from "./types.ts";
import { LOG_INVOCATION_KEY, LOG_KIND, LOG_KIND_KEY, LOG_LEVEL_KEY, LOG_MESSAGE_KEY, LOG_TIMESTAMP_KEY } from "./protocol.ts";

// Saved before anything is patched, so the function cannot redirect or break the channel.
const realStdout = Deno.stdout;
const inspect = Deno.inspect;
const encoder = new TextEncoder();

/** Writes one protocol line; a closed stdout (host gone) is ignored. */
export function writeLine(line: string): void {
  let bytes = encoder.encode(line + "\n");
  try {
    while (bytes.length > 0) bytes = bytes.subarray(realStdout.writeSync(bytes));
  } catch {
    // Nobody is listening; there is nowhere else to report this.
  }
}

// Deno 2.9 warns through console once a Deno.serve request's signal (which the function's request
// follows) aborts after a successful response. That is the runtime talking, not the function.
const RUNTIME_NOISE = "Deno.serve: request.signal aborts on successful responses";

export function emit(level: LogLevel, msg: string, inv?: string | null): void {
  if (level === "warn" && msg.startsWith(RUNTIME_NOISE)) return;
  const id = inv === undefined ? (currentInvocation()?.id ?? null) : inv;
  writeLine(JSON.stringify({
    [LOG_KIND_KEY]: LOG_KIND, [LOG_INVOCATION_KEY]: id, [LOG_LEVEL_KEY]: level, [LOG_MESSAGE_KEY]: msg, [LOG_TIMESTAMP_KEY]: Date.now(),
  }));
}

function show(value: unknown): string {
  return typeof value === "string" ? value : inspect(value, { colors: false });
}

/** console-style formatting: printf directives in a leading string, then the rest space-joined. */
export function formatArgs(args: readonly unknown[]): string {
  if (args.length === 0) return "";
  let rest = 0;
  let head = "";
  const first = args[0];
  if (typeof first === "string" && args.length > 1 && first.includes("%")) {
    let next = 1;
    head = first.replace(/%([sdifoOjc%])/g, (match, directive: string) => {
      if (directive === "%") return "%";
      if (next >= args.length) return match;
      const value = args[next++];
      switch (directive) {
        case "s":
          return typeof value === "bigint" ? `${value}n` : show(value);
        case "d":
        case "i": {
          if (typeof value === "bigint") return `${value}n`;
          const n = Number(value);
          return String(directive === "i" ? Math.trunc(n) : n);
        }
        case "f":
          return String(Number(value));
        case "j":
          try {
            return JSON.stringify(value) ?? "undefined";
          } catch {
            return "[Circular]";
          }
        case "c":
          return ""; // CSS has no meaning in a log line.
        default:
          return inspect(value, { colors: false });
      }
    });
    rest = next;
  } else {
    head = show(first);
    rest = 1;
  }
  const parts = [head];
  for (let i = rest; i < args.length; i++) parts.push(show(args[i]));
  return parts.join(" ");
}

let errorHook: ((error: unknown, inv?: string | null) => void) | null = null;

/** Lets the sandbox add a line of its own after a logged error (e.g. "tmp is full"). */
export function onLoggedError(hook: (error: unknown, inv?: string | null) => void): void {
  errorHook = hook;
}

/** Logs an error with its stack (or its inspection when it is not an Error). */
export function logError(error: unknown, prefix?: string, inv?: string | null): void {
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : show(error);
  emit("error", prefix ? `${prefix}: ${text}` : text, inv);
  errorHook?.(error, inv);
}

let groupIndent = "";

function logAt(level: LogLevel): (...args: unknown[]) => void {
  return (...args: unknown[]) => {
    const text = formatArgs(args);
    emit(level, groupIndent ? text.replace(/^/gm, groupIndent) : text);
  };
}

export const functionLogger: FunctionLogger = {
  debug: logAt("debug"),
  info: logAt("info"),
  warn: logAt("warn"),
  error: logAt("error"),
};

/** Replaces the global console's methods in place, so references taken earlier see them too. */
export function patchConsole(): void {
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  const info = logAt("info");
  const elapsed = (label: string): string | null => {
    const start = timers.get(label);
    return start === undefined ? null : `${label}: ${(performance.now() - start).toFixed(3)}ms`;
  };
  const methods: Record<string, (...args: unknown[]) => void> = {
    log: info,
    info,
    debug: logAt("debug"),
    warn: logAt("warn"),
    error: logAt("error"),
    dir: (value: unknown) => info(value),
    dirxml: info,
    table: (data: unknown) => info(data),
    trace: (...args: unknown[]) => {
      const stack = (new Error().stack ?? "").split("\n").slice(2).join("\n");
      emit("debug", `Trace${args.length ? ": " + formatArgs(args) : ""}\n${stack}`);
    },
    assert: (condition: unknown, ...args: unknown[]) => {
      if (condition) return;
      emit("error", args.length ? `Assertion failed: ${formatArgs(args)}` : "Assertion failed");
    },
    count: (label: unknown = "default") => {
      const key = String(label);
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      info(`${key}: ${n}`);
    },
    countReset: (label: unknown = "default") => void counts.delete(String(label)),
    time: (label: unknown = "default") => void timers.set(String(label), performance.now()),
    timeLog: (label: unknown = "default", ...args: unknown[]) => {
      const line = elapsed(String(label));
      if (line) info(line, ...args);
    },
    timeEnd: (label: unknown = "default") => {
      const line = elapsed(String(label));
      timers.delete(String(label));
      if (line) info(line);
    },
    group: (...args: unknown[]) => {
      if (args.length) info(...args);
      groupIndent += "  ";
    },
    groupCollapsed: (...args: unknown[]) => {
      if (args.length) info(...args);
      groupIndent += "  ";
    },
    groupEnd: () => void (groupIndent = groupIndent.slice(2)),
    clear: () => {},
  };
  Object.assign(console, methods);
}

/** Turns raw text written to a stream into one record per line. */
function lineSink(level: LogLevel): (chunk: unknown) => void {
  const decoder = new TextDecoder();
  let pending = "";
  return (chunk: unknown) => {
    pending += typeof chunk === "string"
      ? chunk
      : chunk instanceof Uint8Array
      ? decoder.decode(chunk, { stream: true })
      : String(chunk);
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      emit(level, pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  };
}

interface NodeStream {
  write: (chunk: unknown, encoding?: unknown, callback?: unknown) => boolean;
}

function patchNodeStream(stream: NodeStream, level: LogLevel): void {
  const sink = lineSink(level);
  stream.write = (chunk: unknown, encoding?: unknown, callback?: unknown) => {
    sink(chunk);
    const done = typeof encoding === "function" ? encoding : callback;
    if (typeof done === "function") queueMicrotask(() => done());
    return true;
  };
}

/**
 * process.stdout/stderr and Deno.stdout. Creating process.stdout costs a few ms, so this runs
 * after ISOLA_READY with the other deferred set-up.
 */
export function patchStreams(): void {
  const proc = (globalThis as { process?: { stdout: NodeStream; stderr: NodeStream } }).process;
  if (proc) {
    patchNodeStream(proc.stdout, "info");
    patchNodeStream(proc.stderr, "error");
  }
  const sink = lineSink("info");
  const stdout = {
    rid: -1,
    write(p: Uint8Array): Promise<number> {
      sink(p);
      return Promise.resolve(p.byteLength);
    },
    writeSync(p: Uint8Array): number {
      sink(p);
      return p.byteLength;
    },
    writable: new WritableStream<Uint8Array>({ write: (chunk) => sink(chunk) }),
    close() {},
    isTerminal: () => false,
  };
  Object.defineProperty(Deno, "stdout", { value: stdout, writable: true, configurable: true });
}

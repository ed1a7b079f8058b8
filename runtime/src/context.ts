// Invocation tracking through async work, and the `ctx` object functions receive.
import type { AsyncLocalStorage } from "node:async_hooks";
import type { Caller, FunctionContext, FunctionInfo, FunctionLogger, Invocation, TriggerPayload } from "./types.ts";
import { functionLogger } from "./logs.ts";
import { waitUntil } from "./activity.ts";
import { type Bindings, bindingsFor, type Db, invocationDb } from "./db.ts";
import { type Events, invocationEvents } from "./events.ts";
import { invocationScheduler, type Scheduler } from "./scheduler.ts";
import { initTransactions } from "./transactions.ts";
import { invocationRealtime, type Realtime } from "./realtime.ts";

// node:async_hooks costs ~7 ms to import, so it is loaded after ISOLA_READY (see bootstrap.ts)
// rather than on the start-up path; nothing needs it before the first invocation.
let storage: AsyncLocalStorage<Invocation> | null = null;

export async function loadAsyncContext(): Promise<void> {
  const { AsyncLocalStorage } = await import("node:async_hooks");
  storage ??= new AsyncLocalStorage<Invocation>();
  initTransactions(AsyncLocalStorage);
}

export function currentInvocation(): Invocation | undefined {
  return storage?.getStore();
}

/** Runs `fn(inv)` as part of `inv` (its logs, waitUntil work and host calls are the invocation's), or outside any. */
export function runInInvocation<T>(inv: Invocation, fn: (inv: Invocation) => T): T;
export function runInInvocation<T>(inv: undefined, fn: () => T): T;
export function runInInvocation<T>(inv: Invocation | undefined, fn: (inv: Invocation) => T): T {
  if (!storage) return fn(inv!);
  return inv ? storage.run(inv, fn, inv) : storage.exit(fn as () => T);
}

const HTTP_TRIGGER: TriggerPayload = Object.freeze({ type: "http" });

/** `ctx.trigger` of an invocation: the payload of a non-HTTP trigger, else `{type: "http"}`. */
export function triggerOf(inv: Invocation): TriggerPayload {
  return inv.payload ?? HTTP_TRIGGER;
}

export function headersObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/**
 * The `ctx` of the default-function shape (and the base of the other shapes' contexts). What costs
 * something to build is built on first use and kept: `request`, `db`, `bindings`, `events`,
 * `scheduler`, `realtime`, and the parsed caller behind `user` and `auth` (getters on the
 * prototype, so a hello function pays for none of them; they are not own properties, which only
 * `{...ctx}` and `Object.keys(ctx)` can tell).
 */
export class InvocationContext implements FunctionContext {
  readonly env: Record<string, string>;
  readonly function: FunctionInfo;
  readonly trigger: TriggerPayload;
  readonly log: FunctionLogger = functionLogger;
  readonly waitUntil: (promise: unknown) => void = waitUntil;
  #inv: Invocation;
  /** Held here: the invocation lets go of its requests once the response is sent (invoke.ts). */
  #fetchRequest: Request;
  #specs: unknown[];
  #request?: FunctionContext["request"];
  #db?: Db;
  #bindings?: Bindings;
  #events?: Events;
  #scheduler?: Scheduler;
  #realtime?: Realtime;

  constructor(inv: Invocation, fn: FunctionInfo, env: Record<string, string>, bindings: unknown[] = []) {
    this.env = env;
    this.function = fn;
    this.trigger = triggerOf(inv);
    this.#inv = inv;
    this.#fetchRequest = inv.request;
    this.#specs = bindings;
  }

  get user(): unknown {
    return this.#inv.caller?.user ?? null;
  }

  get auth(): Caller | null {
    return this.#inv.caller;
  }

  get request(): FunctionContext["request"] {
    if (this.#request) return this.#request;
    const inv = this.#inv;
    const request = this.#fetchRequest;
    const url = request.url;
    return this.#request = {
      id: inv.id,
      method: request.method,
      url,
      path: new URL(url).pathname,
      subpath: inv.subpath,
      headers: headersObject(request.headers),
    };
  }

  // Each of these reads the invocation's capability as it is at the call: null once it has ended.
  get db(): Db {
    return this.#db ??= invocationDb(() => this.#inv.capability);
  }

  get bindings(): Bindings {
    return this.#bindings ??= bindingsFor(this.#specs, () => this.#inv.capability);
  }

  get events(): Events {
    return this.#events ??= invocationEvents(() => this.#inv.capability);
  }

  get scheduler(): Scheduler {
    return this.#scheduler ??= invocationScheduler(() => this.#inv.capability);
  }

  get realtime(): Realtime {
    return this.#realtime ??= invocationRealtime(() => this.#inv.capability);
  }
}

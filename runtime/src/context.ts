// Invocation tracking through async work, and the `ctx` object functions receive.
import type { AsyncLocalStorage } from "node:async_hooks";
import type { FunctionContext, FunctionInfo, Invocation, TriggerPayload } from "./types.ts";
import { functionLogger } from "./logs.ts";
import { waitUntil } from "./activity.ts";
import { bindingsFor, invocationDb } from "./db.ts";
import { invocationEvents } from "./events.ts";
import { invocationScheduler } from "./scheduler.ts";
import { initTransactions } from "./transactions.ts";
import { invocationRealtime } from "./realtime.ts";

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

export function runInInvocation<T>(inv: Invocation | undefined, fn: () => T): T {
  if (!storage) return fn();
  return inv ? storage.run(inv, fn) : storage.exit(fn);
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

export function buildContext(
  inv: Invocation,
  fn: FunctionInfo,
  env: Record<string, string>,
  bindings: unknown[] = [],
): FunctionContext {
  const url = inv.request.url;
  return {
    env,
    user: inv.caller?.user ?? null,
    auth: inv.caller,
    request: {
      id: inv.id,
      method: inv.request.method,
      url,
      path: new URL(url).pathname,
      subpath: inv.subpath,
      headers: headersObject(inv.request.headers),
    },
    log: functionLogger,
    waitUntil,
    function: fn,
    db: invocationDb(() => inv.capability),
    bindings: bindingsFor(bindings, () => inv.capability),
    events: invocationEvents(() => inv.capability),
    scheduler: invocationScheduler(() => inv.capability),
    trigger: triggerOf(inv),
    realtime: invocationRealtime(() => inv.capability),
  };
}

// What keeps a worker busy: invocations in flight and waitUntil promises. The host reads these
// through /__isola/health, and /tmp is wiped when both drop to zero.
import { logError } from "./logs.ts";
import { currentInvocation } from "./context.ts";
import { releaseCapability } from "./host-calls.ts";
import type { Invocation } from "./types.ts";

let inFlight = 0;
const background = new Set<Promise<unknown>>();
let idleHook: () => void = () => {};

export function setIdleHook(hook: () => void): void {
  idleHook = hook;
}

export function stats(): { inFlight: number; pendingBackground: number } {
  return { inFlight, pendingBackground: background.size };
}

function checkIdle(): void {
  if (inFlight === 0 && background.size === 0) idleHook();
}

/** Counts an invocation in flight; `endInvocation` (once per begin) ends it. */
export function beginInvocation(): void {
  inFlight++;
}

export function endInvocation(): void {
  inFlight--;
  checkIdle();
}

/**
 * Ends an invocation's capability once its response is sent and the waitUntil work it started has
 * settled: after that the host refuses calls made with it.
 */
export function settleInvocation(inv: Invocation): void {
  if (!inv.responded || inv.pendingWork > 0 || !inv.capability) return;
  const capability = inv.capability;
  inv.capability = null;
  releaseCapability(capability);
}

/** EdgeRuntime.waitUntil / ctx.waitUntil: keeps the worker (and the invocation's capability) busy until the promise settles. */
export function waitUntil(promise: unknown): void {
  const inv = currentInvocation();
  if (inv) inv.pendingWork++;
  // The rejection handler is attached here, inside the caller's async context, so its log line
  // is attributed to the invocation that started the work.
  const settled = Promise.resolve(promise).then(
    () => {},
    (error) => logError(error, "waitUntil promise rejected"),
  );
  const tracked: Promise<void> = settled.finally(() => {
    background.delete(tracked);
    if (inv) {
      inv.pendingWork--;
      settleInvocation(inv);
    }
    checkIdle();
  });
  background.add(tracked);
}

/** Resolves when all background work settled, or after `ms`; tells which. */
export async function backgroundSettled(ms: number): Promise<boolean> {
  if (background.size === 0) return true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  const all = (async () => {
    // Work added while waiting (e.g. by a beforeunload listener) is waited for too.
    while (background.size > 0) await Promise.allSettled([...background]);
    return true;
  })();
  try {
    return await Promise.race([all, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

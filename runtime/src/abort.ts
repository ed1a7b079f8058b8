// Aborting the signal of a Request the runtime built, without giving it a signal to follow.
//
// `new Request(url, {signal})` makes the request's signal a *dependent* of the one given: two
// WeakRefs and two WeakSets per request (Deno's AbortSignal.any machinery). On the hello path that
// was the largest single cost after the server request's own signal, and WeakRefs keep their
// targets alive past the next scavenge. A request built without a signal gets a plain one, made on
// first use, that only Deno itself can abort: through the [[signalAbort]] method on
// AbortSignal.prototype, found here once by its description and checked on a probe. Should a Deno
// version not have it (the probe fails), `signalFollowing` hands out the dependent signal as before.
import { NativeRequest } from "./natives.ts";

type SignalAbort = (this: AbortSignal, reason: unknown) => void;

function findSignalAbort(): SignalAbort | null {
  const key = Object.getOwnPropertySymbols(AbortSignal.prototype).find((symbol) => symbol.description === "[[signalAbort]]");
  if (key === undefined) return null;
  const method = (AbortSignal.prototype as unknown as Record<symbol, unknown>)[key];
  if (typeof method !== "function") return null;
  try {
    const probe = new NativeRequest("http://localhost/").signal;
    let heard = false;
    probe.addEventListener("abort", () => heard = true);
    const reason = new Error("probe");
    method.call(probe, reason);
    return probe.aborted && probe.reason === reason && heard ? method as SignalAbort : null;
  } catch {
    return null;
  }
}

const signalAbort = findSignalAbort();

/**
 * What to pass as `signal` when building a request whose signal the runtime must be able to abort:
 * nothing when Deno's own abort is at hand, else a controller's signal to follow.
 */
export function signalFollowing(): { signal?: AbortSignal; controller: AbortController | null } {
  if (signalAbort) return { controller: null };
  const controller = new AbortController();
  return { signal: controller.signal, controller };
}

/** Aborts `request.signal` (built with what signalFollowing gave) with `reason`, once. */
export function abortRequest(request: Request, controller: AbortController | null, reason: unknown): void {
  if (controller) {
    controller.abort(reason);
    return;
  }
  const signal = request.signal;
  if (!signal.aborted) signalAbort!.call(signal, reason);
}

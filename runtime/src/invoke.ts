// One invocation: strip the envelope, rebuild the request as the function should see it, call
// the adapted handler inside the invocation's async context, and apply the x-isola-error rules.
import { NativeResponse, NativeRequest, NativeHeaders } from "./natives.ts";
import type { Caller, Invocation, Invoke, TriggerPayload } from "./types.ts";
import { runInInvocation } from "./context.ts";
import { logError } from "./logs.ts";
import { beginInvocation, settleInvocation } from "./activity.ts";
import { rememberOriginal } from "./websocket.ts";
import {
  CALLER_HEADER, CAPABILITY_HEADER, DEADLINE_HEADER, ENVELOPE_PREFIX, ERROR_HEADER, INVOCATION_ID_HEADER, ORIGIN_HEADER,
  SUBPATH_HEADER, TRIGGER_HEADER,
} from "./protocol.ts";


let invoker: Invoke | null = null;
let bootFailure: string | null = null;

export function setInvoker(invoke: Invoke): void {
  invoker = invoke;
}

export function setBootFailure(message: string): void {
  bootFailure = message;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new NativeResponse(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** Responses the runtime made itself: the only ones that may carry x-isola-error to the host. */
const runtimeResponses = new WeakSet<Response>();

/** An error of the runtime itself: marked with x-isola-error, one body shape {error: {message, stack?, …extra}}. */
export function runtimeError(status: number, code: string, message: string, stack?: string, extra: Record<string, unknown> = {}): Response {
  const response = json(status, { error: stack === undefined ? { message, ...extra } : { message, stack, ...extra } }, { [ERROR_HEADER]: code });
  runtimeResponses.add(response);
  return response;
}

export function functionError(error: unknown): Response {
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error ? (error.stack ?? "") : "";
  return runtimeError(500, "FUNCTION_ERROR", message, stack);
}

/** The request target (path + query) of a Deno.serve request, whatever form it arrived in. */
export function targetOf(url: string): string {
  const slash = url.indexOf("/", url.indexOf("://") + 3);
  return slash < 0 ? "/" : url.slice(slash);
}

function parseOrigin(value: string | null, fallback: string): string {
  if (!value) return fallback;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : fallback;
  } catch {
    return fallback;
  }
}

function parseCaller(value: string | null): Caller | null {
  if (!value) return null;
  try {
    const parsed: unknown = JSON.parse(value);
    return parsed !== null && typeof parsed === "object" ? (parsed as Caller) : null;
  } catch {
    return null;
  }
}

/**
 * Deadlines of invocations in flight, checked by one shared timer. A timer and an AbortSignal.any per
 * invocation (the obvious way) cost a third of a hello invocation's throughput and lengthened GC
 * pauses (measured with wrk through a minimal hop: 7k → 22k req/s), so one sweep every 50 ms aborts
 * whatever is past due instead. The host enforces the deadline on its side regardless.
 */
const deadlines = new Map<AbortController, number>();
const SWEEP_MS = 50;
let sweeper: ReturnType<typeof setInterval> | null = null;

/** Lets the process exit with the sweeper running, whether timers are Deno's ids or node's objects. */
function unref(timer: ReturnType<typeof setInterval>): void {
  if (typeof timer === "number") Deno.unrefTimer(timer);
  else (timer as { unref?: () => void }).unref?.();
}

function sweepDeadlines(): void {
  const now = Date.now();
  for (const [controller, deadline] of deadlines) {
    if (deadline > now) continue;
    deadlines.delete(controller);
    controller.abort(new DOMException("the invocation's deadline passed", "TimeoutError"));
  }
}

/** A signal that aborts when `source` does or the deadline passes; forgotten when the invocation ends. */
function deadlineSignal(source: AbortSignal, deadline: number, end: Promise<unknown>): AbortSignal {
  const controller = new AbortController();
  if (source.aborted) {
    controller.abort(source.reason);
    return controller.signal;
  }
  source.addEventListener("abort", () => controller.abort(source.reason), { once: true });
  deadlines.set(controller, deadline);
  end.finally(() => deadlines.delete(controller)).catch(() => {});
  if (sweeper === null) {
    sweeper = setInterval(sweepDeadlines, SWEEP_MS);
    unref(sweeper);
  }
  return controller.signal;
}

function makeInvocation(raw: Request, info: Deno.ServeHandlerInfo): Invocation {
  const headers = new NativeHeaders();
  const envelope = new Map<string, string>();
  for (const [name, value] of raw.headers) {
    if (name.startsWith(ENVELOPE_PREFIX)) envelope.set(name, value);
    else headers.append(name, value);
  }
  const rawUrl = raw.url;
  // Without x-isola-origin, the Host header (Deno.serve's own url has no usable origin on a socket).
  const origin = parseOrigin(
    envelope.get(ORIGIN_HEADER) ?? null,
    parseOrigin(`http://${headers.get("host") || "localhost"}`, "http://localhost"),
  );
  const deadline = Number(envelope.get(DEADLINE_HEADER));
  let signal = raw.signal;
  if (Number.isFinite(deadline) && deadline > 0) {
    signal = deadlineSignal(signal, deadline, info.completed);
  }
  const hasBody = raw.method !== "GET" && raw.method !== "HEAD";
  const init: RequestInit & { duplex?: "half" } = {
    method: raw.method,
    headers,
    body: hasBody ? raw.body : null,
    signal,
    duplex: "half",
  };
  const request = new NativeRequest(origin + targetOf(rawUrl), init);
  rememberOriginal(request, raw);
  return {
    id: envelope.get(INVOCATION_ID_HEADER) || crypto.randomUUID(),
    request,
    subpath: envelope.get(SUBPATH_HEADER) ?? "",
    deadline: Number.isFinite(deadline) && deadline > 0 ? deadline : null,
    caller: parseCaller(envelope.get(CALLER_HEADER) ?? null),
    info,
    capability: envelope.get(CAPABILITY_HEADER) || null,
    pendingWork: 0,
    responded: false,
    trigger: envelope.get(TRIGGER_HEADER) || "http",
    payload: null,
  };
}

/**
 * A non-HTTP trigger's request is a POST whose JSON body is the payload: it is read once here for
 * ctx.trigger, and the function still gets a request whose body it can read itself.
 */
async function readTriggerPayload(inv: Invocation): Promise<void> {
  if (inv.trigger === "http") return;
  const text = await inv.request.text();
  let payload: unknown = null;
  try {
    payload = JSON.parse(text);
  } catch {
    // Not from the host's trigger path: the function still sees the body as sent.
  }
  inv.payload = payload !== null && typeof payload === "object" && !Array.isArray(payload)
    ? payload as TriggerPayload
    : { type: inv.trigger, data: payload };
  // A typed function's call is only its payload: nobody reads the request again.
  if (inv.trigger === "rpc") return;
  const original = inv.request;
  inv.request = new NativeRequest(original.url, {
    method: original.method,
    headers: original.headers,
    body: text,
    signal: original.signal,
  });
}


/** A function's own response passes untouched, except that it may not claim to be a runtime error. */
function passThrough(result: unknown): Response {
  if (!(result instanceof NativeResponse)) {
    const what = result === null ? "null" : typeof result;
    throw new TypeError(`the handler returned ${what} instead of a Response`);
  }
  if (!result.headers.has(ERROR_HEADER) || runtimeResponses.has(result)) return result;
  try {
    result.headers.delete(ERROR_HEADER);
    return result;
  } catch {
    // Immutable headers (e.g. a fetch() response): copy them.
    const headers = new NativeHeaders(result.headers);
    headers.delete(ERROR_HEADER);
    return new NativeResponse(result.body, { status: result.status, statusText: result.statusText, headers });
  }
}

export async function handleInvocation(raw: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
  const invoke = invoker;
  if (!invoke) {
    return runtimeError(503, "BOOT_ERROR", bootFailure ?? "no function is loaded in this worker");
  }
  // In flight until the response body has been sent, not just until the handler returned.
  const end = beginInvocation();
  info.completed.then(end, end);
  let inv: Invocation;
  try {
    inv = makeInvocation(raw, info);
  } catch (error) {
    end();
    throw error;
  }
  try {
    await readTriggerPayload(inv);
  } catch (error) {
    end();
    throw error;
  }
  const settled = inv;
  info.completed.finally(() => {
    settled.responded = true;
    settleInvocation(settled);
  }).catch(() => {});
  try {
    return passThrough(await runInInvocation(inv, () => invoke(inv)));
  } catch (error) {
    logError(error, undefined, inv.id);
    return functionError(error);
  }
}

/**
 * Runs the invocation path once on a synthetic request, so the first real invocation does not pay
 * for cold code (~4 ms measured). Touches no counters and no function code.
 */
export async function warmUp(): Promise<void> {
  const raw = new NativeRequest("http://localhost/__warm?x=1", {
    method: "POST",
    headers: {
      [INVOCATION_ID_HEADER]: "warm",
      [ORIGIN_HEADER]: "http://localhost",
      [DEADLINE_HEADER]: String(Date.now() + 60_000),
      "content-type": "text/plain",
    },
    body: "warm",
  });
  const info = { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 0 }, completed: Promise.resolve() };
  const inv = makeInvocation(raw, info as Deno.ServeHandlerInfo);
  const res = await runInInvocation(inv, async () => {
    await inv.request.text();
    return json(200, { url: inv.request.url });
  });
  await passThrough(res).text();
}

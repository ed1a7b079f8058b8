// One invocation: strip the envelope, rebuild the request as the function should see it, call
// the adapted handler inside the invocation's async context, and apply the x-isola-error rules.
import { NativeResponse, NativeRequest, NativeHeaders } from "./natives.ts";
import type { Caller, Invocation, Invoke, TriggerPayload } from "./types.ts";
import { runInInvocation } from "./context.ts";
import { logError } from "./logs.ts";
import { beginInvocation, endInvocation, settleInvocation } from "./activity.ts";
import { abortFunctionRequest, functionRequest, receivedHeaders, responseHasHeader } from "./deno-internals.ts";
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

/** The last origin parsed and its text: a worker sees one or two distinct values, so one URL parse serves them all. */
let lastOriginText = "";
let lastOrigin = "";

/** The http(s) origin `value` names, or null. */
function parseOrigin(value: string): string | null {
  if (value === lastOriginText) return lastOrigin;
  try {
    const url = new URL(value);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    lastOriginText = value;
    lastOrigin = url.origin;
    return lastOrigin;
  } catch {
    return null;
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
 * One invocation. The caller envelope is parsed on first use (a hello function never reads
 * ctx.auth), and the function's request is aborted through `abort` (deadline, or the host's
 * connection going away).
 *
 * It is also the invocation's AsyncLocalStorage store, and Deno keeps each store as the value of a
 * WeakMap entry keyed by that run's context: V8's scavenger copies such values as if they were
 * strongly held until the next full GC notices the key is gone. A store holding the requests would
 * make every request survive the young generation and be promoted (measured: the whole per-request
 * graph, tens of MB a second, and scavenges of tens of ms). So once the response is sent, `release`
 * drops the requests and what hangs off them; what outlives the response (waitUntil work, logs, host
 * calls) needs only the id, the capability and the counters.
 */
class LiveInvocation implements Invocation {
  pendingWork = 0;
  responded = false;
  #payload: TriggerPayload | null = null;
  #callerText: string | null;
  #caller: Caller | null | undefined = undefined;
  #request: Request | null;
  #raw: Request | null;
  #info: Deno.ServeHandlerInfo | null;
  /** The request built here, which `request` follows even once a trigger's body re-read replaces it. */
  #built: Request | null;
  /** Set once the host's cancellation of `raw` is relayed to the function's request (see sweep). */
  cancelWired = false;
  /** Sweeps this invocation has been in flight for. */
  sweeps = 0;
  /** Neighbours in the list of invocations in flight (see track), and whether it is in it. */
  prev: LiveInvocation | null = null;
  next: LiveInvocation | null = null;
  tracked = false;

  constructor(
    public id: string,
    request: Request,
    raw: Request,
    public subpath: string,
    public deadline: number | null,
    callerText: string | null,
    info: Deno.ServeHandlerInfo,
    public capability: string | null,
    public trigger: string,
  ) {
    this.#callerText = callerText;
    this.#request = this.#built = request;
    this.#raw = raw;
    this.#info = info;
  }

  get caller(): Caller | null {
    if (this.#caller === undefined) this.#caller = parseCaller(this.#callerText);
    return this.#caller;
  }

  get request(): Request {
    return this.#request ?? ended();
  }

  set request(request: Request) {
    this.#request = request;
  }

  get raw(): Request {
    return this.#raw ?? ended();
  }

  get info(): Deno.ServeHandlerInfo {
    return this.#info ?? ended();
  }

  get payload(): TriggerPayload | null {
    return this.#payload;
  }

  set payload(payload: TriggerPayload | null) {
    this.#payload = payload;
  }

  abort(reason: unknown): void {
    if (this.#built) abortFunctionRequest(this.#built, reason);
  }

  /** The response is sent: keep only what outlives it (see the class comment). */
  release(): void {
    this.#request = this.#raw = this.#built = null;
    this.#info = null;
    this.#payload = null;
  }
}

function ended(): never {
  throw new Error("the invocation has ended: its requests are no longer kept (the function's ctx keeps what it needs)");
}

/**
 * Invocations in flight, swept by one shared timer. A timer and an AbortSignal.any per invocation
 * (the obvious way) cost a third of a hello invocation's throughput and lengthened GC pauses, so
 * one sweep every 50 ms aborts whatever is past its deadline instead (the host enforces the
 * deadline on its side regardless). The sweep also relays the host's cancellation (its connection
 * going away) to invocations that have lived through a whole sweep interval: reading a Deno.serve
 * request's signal starts a cancellation watch in Deno (an async op per request, measured at about
 * as much CPU as the rest of a hello invocation), which short invocations never need.
 *
 * The invocations in flight are a list linked through themselves: a Set's table, rebuilt as it
 * grows and shrinks with the load, was most of what the young generation had to promote.
 */
let inFlight: LiveInvocation | null = null;
const SWEEP_MS = 50;
let sweeper: ReturnType<typeof setInterval> | null = null;

/** Lets the process exit with the sweeper running, whether timers are Deno's ids or node's objects. */
function unref(timer: ReturnType<typeof setInterval>): void {
  if (typeof timer === "number") Deno.unrefTimer(timer);
  else (timer as { unref?: () => void }).unref?.();
}

function sweep(): void {
  if (inFlight === null) {
    // Idle: no timer wakes an idle worker; the next invocation starts it again.
    clearInterval(sweeper!);
    sweeper = null;
    return;
  }
  const now = Date.now();
  for (let inv: LiveInvocation | null = inFlight; inv !== null;) {
    const next: LiveInvocation | null = inv.next;
    if (inv.deadline !== null && inv.deadline <= now) {
      untrack(inv);
      inv.abort(new DOMException("the invocation's deadline passed", "TimeoutError"));
    } else if (!inv.cancelWired && ++inv.sweeps >= 2) {
      wireCancel(inv);
    }
    inv = next;
  }
}

function wireCancel(inv: LiveInvocation): void {
  inv.cancelWired = true;
  const source = inv.raw.signal;
  if (source.aborted) inv.abort(source.reason);
  else source.addEventListener("abort", () => inv.abort(source.reason), { once: true });
}

function track(inv: LiveInvocation): void {
  inv.tracked = true;
  inv.next = inFlight;
  if (inFlight !== null) inFlight.prev = inv;
  inFlight = inv;
  if (sweeper === null) {
    sweeper = setInterval(sweep, SWEEP_MS);
    unref(sweeper);
  }
}

function untrack(inv: LiveInvocation): void {
  if (!inv.tracked) return;
  inv.tracked = false;
  if (inv.prev !== null) inv.prev.next = inv.next;
  else inFlight = inv.next;
  if (inv.next !== null) inv.next.prev = inv.prev;
  inv.prev = inv.next = null;
}

function makeInvocation(raw: Request, info: Deno.ServeHandlerInfo, target: string): LiveInvocation {
  // One pass over the headers as received: the envelope aside, the rest for the function.
  const envelope: Record<string, string> = {};
  let host = "";
  const received = receivedHeaders(raw);
  const headers: [string, string][] = [];
  for (let i = 0; i < received.length; i++) {
    const header = received[i];
    const name = header[0];
    if (name.startsWith(ENVELOPE_PREFIX)) {
      envelope[name] = header[1];
    } else {
      if (name === "host") host = header[1];
      headers.push(header);
    }
  }
  const originText = envelope[ORIGIN_HEADER], deadlineText = envelope[DEADLINE_HEADER];
  // Without x-isola-origin, the Host header (Deno.serve's own url has no usable origin on a socket).
  const origin = (originText && parseOrigin(originText)) || parseOrigin(`http://${host || "localhost"}`) || "http://localhost";
  const deadline = Number(deadlineText);
  return new LiveInvocation(
    envelope[INVOCATION_ID_HEADER] || crypto.randomUUID(),
    functionRequest(raw, origin + target, headers),
    raw,
    envelope[SUBPATH_HEADER] ?? "",
    deadlineText && Number.isFinite(deadline) && deadline > 0 ? deadline : null,
    envelope[CALLER_HEADER] || null,
    info,
    envelope[CAPABILITY_HEADER] || null,
    envelope[TRIGGER_HEADER] || "http",
  );
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
  if (!responseHasHeader(result, ERROR_HEADER) || runtimeResponses.has(result)) return result;
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

/** One invocation; `target` is the request target of `raw` (targetOf(raw.url)). */
export function handleInvocation(raw: Request, info: Deno.ServeHandlerInfo, target: string): Response | Promise<Response> {
  const invoke = invoker;
  if (!invoke) {
    return runtimeError(503, "BOOT_ERROR", bootFailure ?? "no function is loaded in this worker");
  }
  const inv = makeInvocation(raw, info, target);
  // In flight until the response body has been sent, not just until the handler returned; then its
  // capability ends once its waitUntil work has settled too.
  beginInvocation();
  track(inv);
  const done = () => finish(inv);
  info.completed.then(done, done);
  return inv.trigger === "http" ? run(inv, invoke) : readTriggerPayload(inv).then(() => run(inv, invoke));
}

function finish(inv: LiveInvocation): void {
  untrack(inv);
  inv.release();
  endInvocation();
  inv.responded = true;
  settleInvocation(inv);
}

async function run(inv: Invocation, invoke: Invoke): Promise<Response> {
  try {
    return passThrough(await runInInvocation(inv, invoke));
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
  const inv = makeInvocation(raw, info as Deno.ServeHandlerInfo, targetOf(raw.url));
  const res = await runInInvocation(inv, async (inv) => {
    await inv.request.text();
    return json(200, { url: inv.request.url });
  });
  await passThrough(res).text();
}

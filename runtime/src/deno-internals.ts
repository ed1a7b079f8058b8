// What the hello path needs of Deno's fetch classes, done with Deno's own pieces when the pinned
// Deno has them (found by their descriptions, checked by a probe at start), else with the public
// API. Two things:
//
// 1. The Request a function sees: Deno.serve's request with the envelope headers removed and the
// url rewritten to the caller's origin, and a signal the runtime can abort (deadline, host gone).
// Built with the public API (`new Request(url, {method, headers, body, signal})`) it cost more CPU
// than everything else on a hello invocation together (bench/runtime/, bench/README.md "Runtime
// tax"): Deno copies and validates every header through WebIDL conversions, builds an inner request
// of getters and closures, parses the url, and ties a dependent signal with two WeakRefs and two
// WeakSets, which the young generation then has to trace. So, when the pinned Deno's own pieces
// are found and pass a probe at start, the request is assembled from them instead: a Request of
// Deno's own class holding an inner request made here (the same fields as Deno's), whose header
// list is the server's minus the envelope and whose headers object Deno makes on first use; its
// signal is a plain one Deno makes on first use, aborted through AbortSignal's [[signalAbort]].
// Anything missing (another Deno version) falls back to the public API, which the probe also
// keeps honest: both give the same request.
//
// 2. Whether a function's Response carries a header, without `response.headers`: reading that
// materialises the Headers object and drops the response off Deno.serve's fast path (a static body
// written in one op), which a hello response otherwise takes.
import { NativeRequest, NativeResponse } from "./natives.ts";

type HeaderList = [string, string][];
type SignalAbort = (this: AbortSignal, reason: unknown) => void;

/** Deno's inner request (ext:deno_fetch/23_request.js newInnerRequest), as fetch(), clone() and new Request(req) read it. */
class InnerRequest {
  redirectMode = "follow";
  redirectCount = 0;
  urlList: (() => string)[];
  urlListProcessed: string[];
  clientRid = null;
  blobUrlEntry = null;

  constructor(public method: string, url: string, public headerList: HeaderList, public body: unknown) {
    this.urlList = [() => url];
    this.urlListProcessed = [url];
  }

  url(): string {
    return this.urlListProcessed[0] ??= this.urlList[0]();
  }

  currentUrl(): string {
    const last = this.urlList.length - 1;
    return this.urlListProcessed[last] ??= this.urlList[last]();
  }
}

interface Internals {
  /** The WebIDL brand: `new Request(brand)` is an empty Request for Deno's own code to fill. */
  brand: symbol;
  inner: symbol;
  guard: symbol;
  signalAbort: SignalAbort;
  /** A Response's inner response, whose headerList its Headers object shares. */
  responseInner: symbol;
}

function symbolOf(object: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(object).find((symbol) => symbol.description === description);
}

function findInternals(): Internals | null {
  const sample = new NativeRequest("http://localhost/");
  const brand = Object.getOwnPropertySymbols(sample).find((symbol) => (sample as unknown as Record<symbol, unknown>)[symbol] === symbol);
  const inner = symbolOf(sample, "request");
  const guard = symbolOf(sample, "headers guard");
  const abortKey = symbolOf(AbortSignal.prototype, "[[signalAbort]]");
  const signalAbort = abortKey && (AbortSignal.prototype as unknown as Record<symbol, unknown>)[abortKey];
  const responseInner = symbolOf(new NativeResponse(null), "response");
  if (!brand || !inner || !guard || typeof signalAbort !== "function" || !responseInner) return null;
  return { brand, inner, guard, signalAbort: signalAbort as SignalAbort, responseInner };
}

let internals = findInternals();

/** Deno's inner request of `request` (for a Deno.serve request: the server's, reading from the connection). */
function innerOf(request: Request): { method: string; headerList: HeaderList; body: unknown } {
  return (request as unknown as Record<symbol, { method: string; headerList: HeaderList; body: unknown }>)[internals!.inner];
}

/** The request's header list as received, names in lower case (duplicates not combined). */
export function receivedHeaders(raw: Request): HeaderList {
  if (internals) return innerOf(raw).headerList;
  const list: HeaderList = [];
  raw.headers.forEach((value, name) => list.push([name, value]));
  return list;
}

/** `raw` as the function sees it: at `url`, with only `headers`, its body, and a signal abortFunctionRequest can abort. */
export function functionRequest(raw: Request, url: string, headers: HeaderList): Request {
  if (internals) {
    const rawInner = innerOf(raw);
    const method = rawInner.method;
    const body = method === "GET" || method === "HEAD" ? null : rawInner.body;
    const request = new NativeRequest(internals.brand as unknown as string) as unknown as Record<symbol, unknown>;
    request[internals.inner] = new InnerRequest(method, url, headers, body);
    request[internals.guard] = "request";
    return request as unknown as Request;
  }
  const method = raw.method;
  const controller = new AbortController();
  const request = new NativeRequest(url, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? null : raw.body,
    signal: controller.signal,
    duplex: "half",
  } as RequestInit);
  controllers.set(request, controller);
  return request;
}

/** The fallback's controllers, one per function request (only without Deno's own abort). */
const controllers = new WeakMap<Request, AbortController>();

/** Aborts the signal of a request functionRequest built, with `reason` (once). */
export function abortFunctionRequest(request: Request, reason: unknown): void {
  if (!internals) {
    controllers.get(request)?.abort(reason);
    return;
  }
  const signal = request.signal;
  if (!signal.aborted) internals.signalAbort.call(signal, reason);
}

/** Whether `response` has a header `name` (given in lower case). */
export function responseHasHeader(response: Response, name: string): boolean {
  // A static body's content-type is kept aside until the headers are read.
  if (!internals || name === "content-type") return response.headers.has(name);
  const list = (response as unknown as Record<symbol, { headerList: HeaderList }>)[internals.responseInner].headerList;
  for (let i = 0; i < list.length; i++) {
    const header = list[i][0];
    if (header.length === name.length && header.toLowerCase() === name) return true;
  }
  return false;
}

/**
 * Builds a request both ways from a synthetic one and compares everything a function or Deno's
 * fetch reads of it; on any difference the public API is used from then on.
 */
async function probe(): Promise<boolean> {
  const build = (method: string, body: string | null) => {
    const raw = new NativeRequest("http://127.0.0.1:9/ignored", {
      method,
      headers: [["content-type", "text/plain"], ["x-isola-origin", "https://a.example"], ["x-two", "1"], ["x-two", "2"]],
      body,
    });
    return functionRequest(raw, "https://a.example/p?q=1", receivedHeaders(raw).filter(([name]) => !name.startsWith("x-isola-")));
  };
  const posted = build("POST", "probe body");
  const clone = posted.clone();
  const bodies = [await clone.text(), await posted.text()];
  const got = build("GET", null);
  got.headers.set("x-added", "yes");
  const copy = new NativeRequest(got);
  let heard = false;
  got.signal.addEventListener("abort", () => heard = true);
  const reason = new Error("probe");
  abortFunctionRequest(got, reason);
  const marked = new NativeResponse("x", { headers: { "X-Probe": "1" } });
  const json = NativeResponse.json({});
  json.headers.set("x-later", "1");
  return responseHasHeader(marked, "x-probe") && !responseHasHeader(marked, "x-other") && responseHasHeader(json, "x-later") &&
    got instanceof NativeRequest && posted.url === "https://a.example/p?q=1" && posted.method === "POST" &&
    JSON.stringify(bodies) === JSON.stringify(["probe body", "probe body"]) && clone.url === posted.url &&
    JSON.stringify([...got.headers]) === JSON.stringify([["content-type", "text/plain"], ["x-added", "yes"], ["x-two", "1, 2"]]) &&
    copy.url === got.url && copy.method === "GET" && copy.headers.get("x-added") === "yes" && !copy.headers.has("x-isola-origin") &&
    got.signal.aborted && got.signal.reason === reason && heard && copy.signal.aborted;
}

const found = internals && (await probe().catch(() => false)) ? internals : null;
internals = found;

/** Whether requests are assembled from Deno's own pieces (false: the public API); for the runtime's tests. */
export function usesDenoInternals(): boolean {
  return internals !== null;
}

/** The runtime's tests run the fallback too: false takes the public API, true Deno's pieces again (if found). */
export function setDenoInternals(enabled: boolean): void {
  internals = enabled ? found : null;
}

// Shape 5: a MolnOS-style script defining `handler(request, context)`, exported by the builder
// as __isolaScriptHandler. It sees plain objects, not Request/Response.
import { NativeResponse, NativeHeaders } from "./natives.ts";
import type { Caller, FunctionInfo, FunctionLogger, Invocation, Invoke, TriggerPayload } from "./types.ts";
import { headersObject, triggerOf } from "./context.ts";
import { type Bindings, bindingsFor, type Db, invocationDb } from "./db.ts";
import { type Events, invocationEvents } from "./events.ts";
import { invocationScheduler, type Scheduler } from "./scheduler.ts";
import { functionLogger } from "./logs.ts";
import { waitUntil } from "./activity.ts";
import { invocationRealtime, type Realtime } from "./realtime.ts";

export interface ScriptRequest {
  method: string;
  path: string;
  subpath: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed JSON when the content type says JSON (and it parses), else the text ("" if none). */
  body: unknown;
}

export interface ScriptContext {
  request: ScriptRequest;
  functionId: string;
  functionName: string;
  /** `context.bindings.databases` when the function declares a databases binding. */
  bindings: Bindings;
  // Beyond PROTOCOL.md's list, for convenience and parity with ctx:
  user: unknown;
  auth: Caller | null;
  env: Record<string, string>;
  invocationId: string;
  log: FunctionLogger;
  waitUntil(promise: unknown): void;
  /** SQL against the app's database as the caller, as ctx.db in the other shapes. */
  db: Db;
  /** Publish events of the app, as ctx.events in the other shapes. */
  events: Events;
  /** Durable calls of the app's functions later, as ctx.scheduler in the other shapes. */
  scheduler: Scheduler;
  /** What started the invocation, as ctx.trigger in the other shapes. */
  trigger: TriggerPayload;
  /** Pushes to the app's realtime clients, as ctx.realtime in the other shapes. */
  realtime: Realtime;
}

/** The first argument: the request for HTTP, the trigger's payload (`event`) for cron, events, scheduled calls and websocket messages. */
export type ScriptHandler = (request: ScriptRequest | TriggerPayload, context: ScriptContext) => unknown;

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

async function scriptRequest(inv: Invocation): Promise<ScriptRequest> {
  const url = new URL(inv.request.url);
  const text = await inv.request.text();
  let body: unknown = text;
  if (text !== "" && /\bjson\b/i.test(inv.request.headers.get("content-type") ?? "")) {
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON after all: the handler gets the text.
    }
  }
  return {
    method: inv.request.method,
    path: url.pathname,
    subpath: inv.subpath,
    query: Object.fromEntries(url.searchParams),
    headers: headersObject(inv.request.headers),
    body,
  };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object without statusCode or body" : `a ${typeof value}`;
}

/** {statusCode, headers?, body} → Response; an object body is sent as JSON. */
export function scriptResponse(result: unknown): Response {
  if (result instanceof NativeResponse) return result;
  if (result === null || typeof result !== "object" || Array.isArray(result) ||
    !("statusCode" in result || "body" in result)) {
    throw new TypeError(`handler returned ${describe(result)}, expected {statusCode, headers?, body}`);
  }
  const { statusCode = 200, headers = {}, body } = result as {
    statusCode?: number;
    headers?: HeadersInit;
    body?: unknown;
  };
  const responseHeaders = new NativeHeaders(headers);
  let payload: BodyInit | null = null;
  if (NULL_BODY_STATUS.has(Number(statusCode)) || body === undefined || body === null) {
    payload = null;
  } else if (
    typeof body === "string" || body instanceof Uint8Array || body instanceof ArrayBuffer ||
    body instanceof Blob || body instanceof ReadableStream
  ) {
    payload = body as BodyInit;
  } else {
    payload = JSON.stringify(body);
    if (!responseHeaders.has("content-type")) responseHeaders.set("content-type", "application/json");
  }
  return new NativeResponse(payload, { status: Number(statusCode), headers: responseHeaders });
}

export function scriptInvoke(
  handler: ScriptHandler,
  fn: FunctionInfo,
  env: Record<string, string>,
  bindings: unknown[],
): Invoke {
  return async (inv) => {
    const request = await scriptRequest(inv);
    const context: ScriptContext = {
      request,
      functionId: fn.id,
      functionName: fn.name,
      bindings: bindingsFor(bindings, () => inv.capability),
      user: inv.caller?.user ?? null,
      auth: inv.caller,
      env,
      invocationId: inv.id,
      log: functionLogger,
      waitUntil,
      db: invocationDb(() => inv.capability),
      events: invocationEvents(() => inv.capability),
      scheduler: invocationScheduler(() => inv.capability),
      trigger: triggerOf(inv),
      realtime: invocationRealtime(() => inv.capability),
    };
    // MolnOS handler(event, context): a trigger's payload is the event; HTTP keeps the request object.
    return scriptResponse(await handler(inv.payload ?? request, context));
  };
}

// /__isola/* endpoints: load (once), health, shutdown. They never reach the function.
import { NativeResponse } from "./natives.ts";
import type { LoadRequest } from "./types.ts";
import { logError } from "./logs.ts";
import { backgroundSettled, stats, waitUntil } from "./activity.ts";
import { functionEnv, setFunctionEnv } from "./env.ts";
import { installServeCapture } from "./deno-serve.ts";
import { installUpgradePatch } from "./websocket.ts";
import { detectShape } from "./shapes.ts";
import { setBootFailure, setInvoker } from "./invoke.ts";
import { HEALTH_PATH, LOAD_PATH, SHUTDOWN_PATH } from "./protocol.ts";

type LoadState = "idle" | "loading" | "loaded" | "failed";

let state: LoadState = "idle";
let shutDown = false;

function json(status: number, body: unknown): Response {
  return new NativeResponse(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function errorBody(error: unknown): { error: { message: string; stack: string } } {
  return {
    error: {
      message: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? (error.stack ?? "") : "",
    },
  };
}

function fileUrl(path: string): string {
  return "file://" + path.split("/").map(encodeURIComponent).join("/");
}

function parseLoad(body: unknown): LoadRequest {
  const value = body as Partial<LoadRequest> | null;
  if (!value || typeof value.bundle !== "string" || !value.bundle.startsWith("/")) {
    throw new TypeError("load: 'bundle' must be an absolute path");
  }
  const fn = value.function;
  if (!fn || typeof fn !== "object") throw new TypeError("load: 'function' is required");
  return {
    bundle: value.bundle,
    function: { id: String(fn.id ?? ""), name: String(fn.name ?? ""), app: String(fn.app ?? ""), version: Number(fn.version ?? 0) },
    env: value.env && typeof value.env === "object" ? value.env : {},
    bindings: Array.isArray(value.bindings) ? value.bindings : [],
  };
}

async function load(req: Request, ready: Promise<void>): Promise<Response> {
  if (state !== "idle") {
    return json(409, { error: { message: `a function was already ${state === "failed" ? "tried" : "loaded"} in this worker` } });
  }
  state = "loading";
  try {
    const spec = parseLoad(await req.json());
    await ready;
    setFunctionEnv(spec.env);
    // Globals first: the bundle may call Deno.serve or use EdgeRuntime at top level.
    installServeCapture();
    installUpgradePatch();
    Object.defineProperty(globalThis, "EdgeRuntime", {
      value: Object.freeze({ waitUntil }),
      writable: true,
      configurable: true,
    });
    const mod = (await import(fileUrl(spec.bundle))) as Record<string, unknown>;
    const detected = await detectShape(mod, { info: spec.function, env: functionEnv, bindings: spec.bindings });
    if (!detected) {
      throw new Error(
        "no handler found: export a default function or an object with fetch(), call Deno.serve(...), " +
          "start a node:http server, or define handler(request, context)",
      );
    }
    setInvoker(detected.invoke);
    state = "loaded";
    return json(200, detected.typed ? { shape: detected.shape, typed: detected.typed } : { shape: detected.shape });
  } catch (error) {
    state = "failed";
    logError(error, "load failed", null);
    setBootFailure(`the function failed to load: ${error instanceof Error ? error.message : String(error)}`);
    return json(500, errorBody(error));
  }
}

function health(): Response {
  const memory = Deno.memoryUsage();
  return json(200, { ...stats(), heapUsed: memory.heapUsed, rss: memory.rss });
}

async function shutdown(req: Request): Promise<Response> {
  let reason = "terminated";
  let graceMs = 2000;
  try {
    const body = (await req.json()) as { reason?: unknown; graceMs?: unknown };
    if (typeof body.reason === "string") reason = body.reason;
    if (typeof body.graceMs === "number" && body.graceMs >= 0) graceMs = body.graceMs;
  } catch {
    // No or bad body: defaults.
  }
  if (!shutDown) {
    shutDown = true;
    // Listeners run synchronously; what they start with waitUntil is waited for below.
    globalThis.dispatchEvent(new CustomEvent("beforeunload", { detail: { reason } }));
  }
  const settled = await backgroundSettled(graceMs);
  return json(200, { settled, pendingBackground: stats().pendingBackground });
}

export function handleControl(req: Request, path: string, ready: Promise<void>): Promise<Response> | Response {
  switch (`${req.method} ${path}`) {
    case `POST ${LOAD_PATH}`:
      return load(req, ready);
    case `GET ${HEALTH_PATH}`:
      return health();
    case `POST ${SHUTDOWN_PATH}`:
      return shutdown(req);
    default:
      return json(404, { error: { message: `unknown control endpoint ${req.method} ${path}` } });
  }
}

// Finds how a loaded bundle wants to be called (never declared, always detected) and adapts it
// to one signature. Order matters: a server started at import time wins over exports.
import type { FunctionInfo, Invocation, Invoke, Shape } from "./types.ts";
import { InvocationContext } from "./context.ts";
import { logError } from "./logs.ts";
import { capturedServe } from "./deno-serve.ts";
import { nodeInvoke, nodeListening, nodeTarget } from "./node-listen.ts";
import { type ScriptHandler, scriptInvoke } from "./script-handler.ts";
import { SCRIPT_HANDLER_EXPORT } from "./protocol.ts";
import { definitionOf } from "../functions/contract.ts";
import { describe, type TypedDescription, typedInvoke } from "./typed.ts";

export interface Detected {
  shape: Shape;
  invoke: Invoke;
  /** For a typed function: its kind, auth mode, internal flag and argument schema (the host stores them). */
  typed?: TypedDescription;
}

export interface LoadedFunction {
  info: FunctionInfo;
  env: Record<string, string>;
  bindings: unknown[];
}

type Handler = (...args: unknown[]) => unknown;

/** Deno.serve's `info`: ctx, plus `remoteAddr` (the caller's address when the host forwarded one) and `completed`. */
class ServeInfo extends InvocationContext {
  readonly #request: Request;
  readonly #info: Deno.ServeHandlerInfo;

  constructor(inv: Invocation, fn: LoadedFunction) {
    super(inv, fn.info, fn.env, fn.bindings);
    this.#request = inv.request;
    this.#info = inv.info;
  }

  get remoteAddr(): Deno.NetAddr {
    const forwarded = this.#request.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
    return { transport: "tcp", hostname: forwarded || "127.0.0.1", port: 0 };
  }

  get completed(): Promise<void> {
    return this.#info.completed;
  }
}

/** A Workers-style `fetch(req, env, ctx)`'s ctx: ctx plus `passThroughOnException()` (a no-op) and `props`. */
class WorkersContext extends InvocationContext {
  readonly props: Record<string, unknown> = {};
  passThroughOnException(): void {}
}

export async function detectShape(
  mod: Record<string, unknown>,
  fn: LoadedFunction,
): Promise<Detected | null> {
  const served = capturedServe();
  if (served) {
    return {
      shape: "deno-serve",
      invoke: async (inv) => {
        try {
          return await served.handler(inv.request, new ServeInfo(inv, fn));
        } catch (error) {
          // Like Deno.serve: the function's own onError turns the error into its response.
          if (!served.onError) throw error;
          logError(error);
          return await served.onError(error);
        }
      },
    };
  }

  const node = nodeTarget();
  if (node) {
    await nodeListening(node);
    return { shape: "node-listen", invoke: nodeInvoke(node) };
  }

  const main = mod.default;
  const definition = definitionOf(main);
  if (definition) {
    return { shape: "typed", invoke: typedInvoke(definition, fn.info, fn.env), typed: describe(definition) };
  }
  if (typeof main === "function") {
    const handler = main as Handler;
    return {
      shape: "default-function",
      invoke: async (inv) => (await handler(inv.request, new InvocationContext(inv, fn.info, fn.env, fn.bindings))) as Response,
    };
  }
  if (main !== null && typeof main === "object" && typeof (main as { fetch?: unknown }).fetch === "function") {
    const app = main as { fetch: Handler };
    return {
      shape: "fetch-object",
      invoke: async (inv) => {
        return (await app.fetch(inv.request, fn.env, new WorkersContext(inv, fn.info, fn.env, fn.bindings))) as Response;
      },
    };
  }

  const script = mod[SCRIPT_HANDLER_EXPORT];
  if (typeof script === "function") {
    return { shape: "script-handler", invoke: scriptInvoke(script as ScriptHandler, fn.info, fn.env, fn.bindings) };
  }
  return null;
}

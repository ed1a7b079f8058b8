// Runs a typed function (query, mutation, action from @isola/functions): arguments checked before the
// handler, a mutation as one transaction retried on serialization failures and deadlocks, a query in a
// read-only transaction, an action with none. Answers (runtime/PROTOCOL.md, "Typed functions"):
//   200 the return value as JSON · 400 {"error": {"code", "message"}} thrown with ctx.error (the function's
//   own answer) · x-isola-error INVALID_ARGS (400), POLICY_DENIED (403), TRANSACTION_CONFLICT (409),
//   FUNCTION_ERROR (500) for the platform's.
import { NativeResponse } from "./natives.ts";
import type { FunctionInfo, Invocation, Invoke } from "./types.ts";
import { type Definition, FunctionError, functionErrorOf, type Schema } from "../functions/contract.ts";
import { functionLogger, logError } from "./logs.ts";
import { waitUntil } from "./activity.ts";
import { HostCallError, hostCall } from "./host-calls.ts";
import { TxScope, typedDb } from "./typed-db.ts";
import { invocationEvents } from "./events.ts";
import { invocationScheduler } from "./scheduler.ts";
import { functionError, runtimeError } from "./invoke.ts";

/** What the host learns from the load (and stores with the version at deploy). */
export interface TypedDescription {
  kind: Definition["kind"];
  auth: Definition["auth"];
  internal: boolean;
  args: Schema;
  /** The `returns` validator's schema; null when the definition declares none. */
  returns: Schema | null;
}

export function describe(definition: Definition): TypedDescription {
  return {
    kind: definition.kind,
    auth: definition.auth,
    internal: definition.internal,
    args: definition.schema,
    returns: definition.returns?.schema ?? null,
  };
}

/** A handler returned what its `returns` validator refuses: the function's bug, so a 500, and a mutation rolls back. */
class ResultError extends Error {
  constructor(name: string, message: string) {
    super(`${name} returned a value its returns validator refuses: ${message}`);
    this.name = "ResultError";
  }
}

/** The handler's value, checked against `returns` when the definition declares it. */
async function checkedResult(definition: Definition, fn: FunctionInfo, value: Promise<unknown> | unknown): Promise<unknown> {
  const result = await value;
  const problem = definition.returns?.check(result === undefined ? null : result);
  if (problem) throw new ResultError(fn.name, problem.message);
  return result;
}

/** Attempts of a mutation that keeps failing on serialization or a deadlock, the first included. */
export const MUTATION_ATTEMPTS = 10;
const RETRY_BASE_MS = 10;
const RETRY_MAX_MS = 1000;

/** SQLSTATEs worth running the whole mutation again for: serialization_failure, deadlock_detected. */
function retryable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === "40001" || code === "40P01";
}

function json(status: number, body: unknown): Response {
  return new NativeResponse(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** The arguments a trigger carries: an RPC's and a scheduled call's `args`, or the body of a direct request. */
async function argsOf(inv: Invocation): Promise<{ args: unknown; track: boolean }> {
  const payload = inv.payload;
  if (payload) {
    const args = payload.type === "rpc" || payload.type === "scheduled" ? payload.args : undefined;
    return { args: args ?? {}, track: payload.type === "rpc" && payload.track === true };
  }
  const text = await inv.request.text();
  try {
    return { args: text.trim() === "" ? {} : JSON.parse(text), track: false };
  } catch {
    return { args: text, track: false };
  }
}

interface Ctx {
  [key: string]: unknown;
}

function auth(inv: Invocation) {
  const caller = inv.caller;
  return {
    userId: caller?.userId ?? null,
    email: caller?.email ?? null,
    roles: caller?.roles ?? [],
    isAdmin: caller?.isAdmin === true,
    kind: caller?.kind ?? "anon",
  };
}

/** ctx.runQuery / ctx.runMutation: the host runs the other function as this invocation's caller. */
function runner(capability: () => string | null, kind: "query" | "mutation") {
  return async (name: string, args: Record<string, unknown> = {}): Promise<unknown> => {
    if (typeof name !== "string" || name === "") throw new TypeError(`ctx.run${kind === "query" ? "Query" : "Mutation"}(name, args): name must be a function's name`);
    try {
      const answer = await hostCall(capability(), "functions.run", { name, kind, args }) as { value: unknown };
      return answer.value;
    } catch (error) {
      // The other function's own ctx.error reaches this one as the same typed error.
      if (error instanceof HostCallError && error.functionError === true) throw new FunctionError(error.code, error.message);
      throw error;
    }
  };
}

function baseCtx(inv: Invocation, env: Record<string, string>, fn: FunctionInfo): Ctx {
  return {
    auth: auth(inv),
    error: (code: string, message: string) => new FunctionError(String(code), String(message)),
    env,
    log: functionLogger,
    function: fn,
    request: { id: inv.id },
  };
}

async function run(definition: Definition, inv: Invocation, env: Record<string, string>, fn: FunctionInfo, args: unknown, track: boolean): Promise<unknown> {
  const capability = () => inv.capability;
  if (definition.kind === "action") {
    const ctx = {
      ...baseCtx(inv, env, fn),
      db: typedDb(new TxScope(capability, "none", false, false), new TxScope(capability, "none", true, false)),
      scheduler: invocationScheduler(capability),
      events: invocationEvents(capability),
      runQuery: runner(capability, "query"),
      runMutation: runner(capability, "mutation"),
      waitUntil,
    };
    return await checkedResult(definition, fn, definition.handler(ctx, args));
  }

  const mode = definition.kind === "query" ? "read" : "write";
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const caller = new TxScope(capability, mode, false, track);
    const service = new TxScope(capability, mode, true, track);
    const ctx: Ctx = { ...baseCtx(inv, env, fn), db: typedDb(caller, service) };
    if (definition.kind === "mutation") {
      // Held under the mutation's own transaction (begun now if no ctx.db call has begun it): they exist only if it commits.
      const own = () => caller.id();
      ctx.scheduler = invocationScheduler(capability, own);
      ctx.events = invocationEvents(capability, own);
    }
    let committed = false;
    try {
      const value = await checkedResult(definition, fn, definition.handler(ctx, args));
      await caller.commit();
      committed = true;
      await service.commit();
      return value;
    } catch (error) {
      await caller.rollback();
      await service.rollback();
      // Exponential with jitter, so mutations that collided do not collide again in step.
      const backoff = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1)) * (1 + Math.random());
      const timeLeft = inv.deadline === null || inv.deadline - Date.now() > backoff * 2;
      if (!retryable(error) || committed || !timeLeft) throw error;
      if (attempt >= MUTATION_ATTEMPTS) {
        throw new ConflictError(`the ${definition.kind} conflicted with concurrent transactions ${attempt} times in ${Date.now() - started} ms (${(error as Error).message}); retry`);
      }
      functionLogger.info(`isola: the ${definition.kind} conflicted with a concurrent transaction (${(error as { code: string }).code}); ` +
        `running it again in ${Math.round(backoff)} ms (attempt ${attempt + 1} of ${MUTATION_ATTEMPTS})`);
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
  }
}

class ConflictError extends Error {}

/** The invoke of a typed function. */
export function typedInvoke(definition: Definition, fn: FunctionInfo, env: Record<string, string>): Invoke {
  return async (inv) => {
    const { args, track } = await argsOf(inv);
    const problem = definition.check(args);
    if (problem) {
      return runtimeError(400, "INVALID_ARGS", problem.message, undefined, { field: problem.path });
    }
    try {
      const value = await run(definition, inv, env, fn, args, track);
      return json(200, value === undefined ? null : value);
    } catch (error) {
      const own = functionErrorOf(error);
      if (own) return json(400, { error: own });
      if (error instanceof ConflictError) return runtimeError(409, "TRANSACTION_CONFLICT", error.message);
      // A write or read the caller's row-level security refused, not caught by the handler (42501 from SQL).
      if (error instanceof HostCallError && (error.code === "POLICY_DENIED" || error.code === "42501")) {
        logError(error, undefined, inv.id);
        return runtimeError(403, "POLICY_DENIED", error.message);
      }
      logError(error, undefined, inv.id);
      return functionError(error);
    }
  };
}

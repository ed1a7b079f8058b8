// ctx.scheduler: call a function of the same app later, durably (docs/triggers.md, "Scheduled
// calls"). The call survives restarts, is retried like an event and dead-lettered after its last
// attempt. Inside ctx.db.transaction it exists only if that transaction commits.
import { hostCall } from "./host-calls.ts";
import { currentTransaction } from "./transactions.ts";

export interface Scheduler {
  /** Calls `functionName` with `args` after `delayMs`; resolves to the call's id. */
  runAfter(delayMs: number, functionName: string, args?: unknown): Promise<string>;
  /** Calls `functionName` with `args` at `when` (a Date, epoch milliseconds or an ISO 8601 string). */
  runAt(when: Date | number | string, functionName: string, args?: unknown): Promise<string>;
  /** Cancels a call that has not started; resolves to whether there was one to cancel. */
  cancel(id: string): Promise<boolean>;
}

function epochMs(when: Date | number | string): number {
  const ms = when instanceof Date ? when.getTime() : typeof when === "number" ? when : Date.parse(when);
  if (!Number.isFinite(ms)) {
    throw new TypeError("ctx.scheduler.runAt(when, functionName, args): when must be a Date, epoch milliseconds or an ISO 8601 string");
  }
  return ms;
}

function checkName(functionName: unknown, method: string): void {
  if (typeof functionName !== "string" || functionName === "") {
    throw new TypeError(`ctx.scheduler.${method}: functionName must be a non-empty string`);
  }
}

/**
 * ctx.scheduler for one invocation. `transaction` says which transaction a call waits for: by default the
 * ctx.db.transaction it runs inside, if any; a typed mutation passes its own (begun if need be).
 */
export function invocationScheduler(
  capability: () => string | null,
  transaction: (cap: string | null) => string | undefined | Promise<string | undefined> = currentTransaction,
): Scheduler {
  const schedule = async (op: string, timing: Record<string, number>, functionName: string, args: unknown): Promise<string> => {
    const cap = capability();
    const answer = await hostCall(cap, op, {
      ...timing,
      function: functionName,
      args: args === undefined ? null : args,
      tx: await transaction(cap),
    }) as { id: string };
    return answer.id;
  };
  return {
    async runAfter(delayMs: number, functionName: string, args?: unknown): Promise<string> {
      if (typeof delayMs !== "number" || !Number.isFinite(delayMs) || delayMs < 0) {
        throw new TypeError("ctx.scheduler.runAfter(delayMs, functionName, args): delayMs must be a number of milliseconds, 0 or more");
      }
      checkName(functionName, "runAfter");
      return await schedule("scheduler.runAfter", { delayMs }, functionName, args);
    },
    async runAt(when: Date | number | string, functionName: string, args?: unknown): Promise<string> {
      const at = epochMs(when);
      checkName(functionName, "runAt");
      return await schedule("scheduler.runAt", { at }, functionName, args);
    },
    async cancel(id: string): Promise<boolean> {
      if (typeof id !== "string" || id === "") throw new TypeError("ctx.scheduler.cancel(id): id must be the string runAfter or runAt returned");
      const answer = await hostCall(capability(), "scheduler.cancel", { id }) as { cancelled: boolean };
      return answer.cancelled;
    },
  };
}

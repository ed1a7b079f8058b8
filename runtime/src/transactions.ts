// Which ctx.db.transaction the current async work runs inside, so that ctx.events.emit and
// ctx.scheduler called from it are tied to that transaction's COMMIT (the host holds what they
// create until it commits, and drops it on rollback; ../PROTOCOL.md, "Calls").
import type { AsyncLocalStorage } from "node:async_hooks";

interface OpenTransaction {
  /** The invocation's capability when the transaction began: an emit from another invocation ignores it. */
  capability: string | null;
  tx: string;
}

let storage: AsyncLocalStorage<OpenTransaction> | null = null;

/** Called once node:async_hooks is loaded (after ISOLA_READY, see context.ts). */
export function initTransactions(Storage: typeof AsyncLocalStorage): void {
  storage ??= new Storage<OpenTransaction>();
}

/** Runs `fn` as inside transaction `tx`. */
export function runInTransaction<T>(capability: string | null, tx: string, fn: () => T): T {
  return storage ? storage.run({ capability, tx }, fn) : fn();
}

/** The transaction the caller runs inside, if it belongs to the invocation holding `capability`. */
export function currentTransaction(capability: string | null): string | undefined {
  const open = storage?.getStore();
  return open && open.capability === capability ? open.tx : undefined;
}

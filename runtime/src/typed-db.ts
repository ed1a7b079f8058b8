// ctx.db of a typed function (docs/typed-functions.md). A mutation's calls share one transaction,
// begun by the first call (the begin rides on that call, so it costs no round trip of its own) and
// ended by the adapter (typed.ts). A query's calls each run read-only on their own, so a pooled
// connection is never held across a turn of the worker's event loop; its ctx.db.transaction(fn) gives
// one read-only snapshot for several. An action's calls each commit on their own. `unsafe` is the
// same over a second scope that runs as service_role.
import { hostCall } from "./host-calls.ts";
import { entityMethods, isSql } from "./entities.ts";
import { decodeResult, type QueryResult, sqlArgs } from "./db.ts";

/** write: a mutation's transaction · read: a query's statements, each read-only · snapshot: one read-only transaction · none: an action's. */
export type TxMode = "write" | "read" | "snapshot" | "none";

/** How the transaction of a scope is begun: read-only, serializable, and whether the host notes what it read. */
interface BeginOptions {
  readOnly: boolean;
  serializable: boolean;
  track: boolean;
}

/** One role's share of an invocation: its transaction (if any), opened by the first call. */
export class TxScope {
  private tx: string | null = null;
  private opening: Promise<void> | null = null;

  constructor(
    private readonly capability: () => string | null,
    readonly mode: TxMode,
    private readonly unsafe: boolean,
    private readonly track: boolean,
  ) {}

  /** The transaction's id, begun now if no call has begun it yet; undefined for a scope without one. */
  async id(): Promise<string | undefined> {
    if (this.mode === "none" || this.mode === "read") return undefined;
    while (this.tx === null) {
      if (this.opening) {
        await this.opening;
        continue;
      }
      await this.call("db.begin", {});
    }
    return this.tx;
  }

  /** One db.* call in this scope; the first one of a transactional scope begins the transaction. */
  async call(op: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const cap = this.capability();
    const base = this.unsafe ? { ...args, unsafe: true } : args;
    if (this.mode === "none") return await hostCall(cap, op, base) as Record<string, unknown>;
    if (this.mode === "read") return await hostCall(cap, op, { ...base, readOnly: true, track: this.track }) as Record<string, unknown>;
    while (this.tx === null && this.opening) await this.opening;
    if (this.tx !== null) return await hostCall(cap, op, { ...base, tx: this.tx }) as Record<string, unknown>;

    let opened!: () => void;
    this.opening = new Promise((resolve) => (opened = resolve));
    const begin: BeginOptions = { readOnly: this.mode === "snapshot", serializable: this.mode === "write", track: this.track };
    try {
      const answer = await hostCall(cap, op, op === "db.begin" ? { ...base, ...begin } : { ...base, begin }) as Record<string, unknown>;
      this.tx = String(answer.tx);
      return answer;
    } catch (error) {
      // The transaction was begun even though its first statement failed: it must still be ended.
      const tx = (error as { tx?: unknown }).tx;
      if (typeof tx === "string") this.tx = tx;
      throw error;
    } finally {
      this.opening = null;
      opened();
    }
  }

  /** A scope for one read-only snapshot (a query's ctx.db.transaction), as this one's role. */
  snapshot(): TxScope {
    return new TxScope(this.capability, "snapshot", this.unsafe, this.track);
  }

  /** Commits the transaction, if one was begun. */
  async commit(): Promise<void> {
    const tx = this.tx;
    if (tx === null) return;
    this.tx = null;
    await hostCall(this.capability(), "db.commit", { tx });
  }

  /** Rolls back the transaction, if one was begun; never throws (the host rolls back when the invocation ends anyway). */
  async rollback(): Promise<void> {
    const tx = this.tx;
    if (tx === null) return;
    this.tx = null;
    await hostCall(this.capability(), "db.rollback", { tx }).catch(() => {});
  }
}

export interface TypedDb {
  query(first: string, second?: unknown): Promise<QueryResult | Record<string, unknown>[]>;
  [method: string]: unknown;
}

function dbOver(scope: TxScope, writes: boolean): TypedDb {
  const transaction = scope.mode === "read"
    // A query's statements each run on their own; several that must see one moment share a snapshot.
    ? async <T>(fn: (db: TypedDb) => Promise<T>): Promise<T> => {
      const snapshot = scope.snapshot();
      try {
        const result = await fn(dbOver(snapshot, false));
        await snapshot.commit();
        return result;
      } catch (error) {
        await snapshot.rollback();
        throw error;
      }
    }
    // The handler already is the transaction (or, in an action, there is none to share).
    : async <T>(fn: (db: TypedDb) => Promise<T>): Promise<T> => await fn(db);
  const { find, ...entities } = entityMethods((op, args) => scope.call(op, args));
  const refuse = (method: string) => () =>
    Promise.reject(new TypeError(`ctx.db.${method} writes, and a query is read-only: write in a mutation (or an action)`));
  const db: TypedDb = {
    ...entities,
    async query(first: string, second?: unknown) {
      if (typeof first === "string" && !isSql(first)) return await find(first, second as Record<string, unknown> | undefined);
      return decodeResult(await scope.call("db.query", sqlArgs(first, second ?? [])));
    },
    transaction,
    asUser: () => Promise.reject(new TypeError("ctx.db.asUser is not available in typed functions: ctx.db acts as the caller, ctx.db.unsafe as service_role")),
    asAnon: () => Promise.reject(new TypeError("ctx.db.asAnon is not available in typed functions: ctx.db acts as the caller, ctx.db.unsafe as service_role")),
  };
  if (!writes) {
    for (const method of ["insert", "update", "delete", "link", "unlink"]) db[method] = refuse(method);
  }
  return db;
}

/** ctx.db over the caller's scope, with `unsafe` over the service scope. */
export function typedDb(caller: TxScope, service: TxScope): TypedDb {
  const writes = caller.mode !== "read" && caller.mode !== "snapshot";
  const db = dbOver(caller, writes);
  let unsafe: TypedDb | null = null;
  // Built on first use: most handlers never touch it.
  Object.defineProperty(db, "unsafe", { get: () => (unsafe ??= dbOver(service, writes)), enumerable: true });
  return db;
}

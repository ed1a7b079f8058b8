// ctx.db: SQL against the app's own database, run by the host as the invocation's caller under
// row-level security (../PROTOCOL.md, "Calls", and docs/data.md). The worker holds no credentials:
// every statement goes to the host with the invocation's capability.
import { hostCall } from "./host-calls.ts";
import { type EntityMethods, entityMethods, isSql } from "./entities.ts";
import { runInTransaction } from "./transactions.ts";

/** Whom a statement runs as, when not the invocation's own caller (asUser / asAnon). */
export type RunAs = { role: "anon" } | { role: "authenticated"; userId: string };

export interface QueryResult<Row = Record<string, unknown>> {
  rows: Row[];
  rowCount: number;
}

/** The entity methods of ctx.db, with `query(entity, filter)` sharing its name with SQL's `query(sql, params)`. */
export type Entities = Omit<EntityMethods, "find">;

export interface Db extends Entities {
  /** SQL when `first` has whitespace (docs/data.md); otherwise the rows of the entity `first` matching `second`. */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<Row>>;
  query(entity: string, filter?: Record<string, unknown>): Promise<Record<string, unknown>[]>;
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  asUser<T>(userId: string, fn: (db: Db) => Promise<T>): Promise<T>;
  asAnon<T>(fn: (db: Db) => Promise<T>): Promise<T>;
}

interface Scope {
  capability: () => string | null;
  as?: RunAs;
  tx?: string;
  binding?: string;
}

/** Values JSON cannot carry as they are: dates as ISO text, bytes as {$bytes: base64}, bigints as text. */
function encodeParam(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) {
    let binary = "";
    for (let i = 0; i < value.length; i += 0x8000) binary += String.fromCharCode(...value.subarray(i, i + 0x8000));
    return { $bytes: btoa(binary) };
  }
  if (Array.isArray(value)) return value.map(encodeParam);
  return value;
}

/** bytea columns (named in binaryColumns) arrive as base64 text; everything else is already the documented JS value. */
function decodeBytes(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const binary = atob(value);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The arguments of a db.query call: the SQL and its parameters encoded for JSON. */
export function sqlArgs(sql: unknown, params: unknown): { sql: string; params: unknown[] } {
  if (typeof sql !== "string" || sql.trim() === "") {
    throw new TypeError("ctx.db.query(sql, params?): sql must be a non-empty string");
  }
  if (!Array.isArray(params)) {
    throw new TypeError("ctx.db.query(sql, params?): params must be an array");
  }
  return { sql, params: params.map(encodeParam) };
}

/** A db.query answer as the function sees it: bytea columns as Uint8Array, host fields removed. */
export function decodeResult<Row>(answer: Record<string, unknown>): QueryResult<Row> {
  const result = answer as unknown as { rows: Record<string, unknown>[]; rowCount: number; binaryColumns?: string[] };
  if (result.binaryColumns?.length) {
    for (const row of result.rows) {
      for (const column of result.binaryColumns) row[column] = decodeBytes(row[column]);
    }
  }
  return { rows: result.rows as Row[], rowCount: result.rowCount };
}

function scoped(scope: Scope): Db {
  const call = async (op: string, args: Record<string, unknown>) =>
    await hostCall(scope.capability(), op, { ...args, as: scope.as, tx: scope.tx, binding: scope.binding }) as Record<string, unknown>;
  const { find, ...entities } = entityMethods(call);
  const db: Db = {
    ...entities,
    query: (async (first: string, second?: unknown) => {
      if (typeof first === "string" && !isSql(first)) return await find(first, second as Record<string, unknown> | undefined);
      return decodeResult(await call("db.query", sqlArgs(first, second ?? [])));
    }) as Db["query"],

    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      if (scope.tx) return await fn(db); // Already inside one: nested calls share it.
      const { tx } = await hostCall(scope.capability(), "db.begin", { as: scope.as, binding: scope.binding }) as { tx: string };
      let result: T;
      try {
        // Emits and scheduled calls made inside fn wait for this transaction's COMMIT (transactions.ts).
        result = await runInTransaction(scope.capability(), tx, () => fn(scoped({ ...scope, tx })));
      } catch (error) {
        await hostCall(scope.capability(), "db.rollback", { tx }).catch(() => {});
        throw error;
      }
      await hostCall(scope.capability(), "db.commit", { tx });
      return result;
    },

    asUser<T>(userId: string, fn: (db: Db) => Promise<T>): Promise<T> {
      if (typeof userId !== "string" || userId === "") {
        return Promise.reject(new TypeError("ctx.db.asUser(userId, fn): userId must be a non-empty string"));
      }
      if (scope.tx) return Promise.reject(new TypeError("ctx.db.asUser cannot change whom an open transaction runs as"));
      return fn(scoped({ ...scope, as: { role: "authenticated", userId } }));
    },

    asAnon<T>(fn: (db: Db) => Promise<T>): Promise<T> {
      if (scope.tx) return Promise.reject(new TypeError("ctx.db.asAnon cannot change whom an open transaction runs as"));
      return fn(scoped({ ...scope, as: { role: "anon" } }));
    },
  };
  return db;
}

/** ctx.db for one invocation: its statements run as its caller (ctx.auth). */
export function invocationDb(capability: () => string | null): Db {
  return scoped({ capability });
}

/** ctx.bindings / context.bindings: one entry per service the function declared a binding for. */
export interface Bindings {
  /** The function's own PostgreSQL login, holding only the grants it declared (bypasses RLS, reaches nothing else). */
  databases?: Db;
}

export function bindingsFor(specs: unknown[], capability: () => string | null): Bindings {
  const bindings: Bindings = {};
  for (const spec of specs) {
    if (spec !== null && typeof spec === "object" && (spec as { service?: unknown }).service === "databases") {
      bindings.databases = scoped({ capability, binding: "databases" });
    }
  }
  return bindings;
}

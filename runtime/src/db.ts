// ctx.db: SQL against the app's own database, run by the host as the invocation's caller under
// row-level security (../PROTOCOL.md, "Calls", and docs/data.md). The worker holds no credentials:
// every statement goes to the host with the invocation's capability.
import { hostCall } from "./host-calls.ts";
import { runInTransaction } from "./transactions.ts";

/** Whom a statement runs as, when not the invocation's own caller (asUser / asAnon). */
export type RunAs = { role: "anon" } | { role: "authenticated"; userId: string };

export interface QueryResult<Row = Record<string, unknown>> {
  rows: Row[];
  rowCount: number;
}

export interface Db {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<Row>>;
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

function scoped(scope: Scope): Db {
  const db: Db = {
    async query<Row>(sql: string, params: unknown[] = []): Promise<QueryResult<Row>> {
      if (typeof sql !== "string" || sql.trim() === "") {
        throw new TypeError("ctx.db.query(sql, params?): sql must be a non-empty string");
      }
      if (!Array.isArray(params)) {
        throw new TypeError("ctx.db.query(sql, params?): params must be an array");
      }
      const answer = await hostCall(scope.capability(), "db.query", {
        sql,
        params: params.map(encodeParam),
        as: scope.as,
        tx: scope.tx,
        binding: scope.binding,
      }) as { rows: Record<string, unknown>[]; rowCount: number; binaryColumns?: string[] };
      if (answer.binaryColumns?.length) {
        for (const row of answer.rows) {
          for (const column of answer.binaryColumns) row[column] = decodeBytes(row[column]);
        }
      }
      return answer as unknown as QueryResult<Row>;
    },

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

// query(), mutation(), action(): a typed function's definition, and the `ctx` its handler gets.
// The worker runtime (runtime/src/typed.ts) runs the handler: it validates the arguments first,
// wraps a mutation in one transaction and a query in a read-only one, and builds `ctx`.
import { type AuthMode, DEFINITION_KEY, type Definition, type FunctionError, type FunctionKind } from "./contract.ts";
import { type Fields, type ObjectOf, ObjectValidator, type Validator } from "./validators.ts";

/** `ctx.auth`: who called. Under "user" and "admin" a signed-in user's id is certain. */
export interface Auth<M extends AuthMode> {
  /**
   * The user's id. Typed `string` under "user" and "admin", which admit only signed-in users, except for the
   * platform's own service caller (an API key, the scheduler), which passes every mode: check `kind` to tell.
   */
  userId: M extends "user" | "admin" ? string : string | null;
  email: string | null;
  roles: string[];
  isAdmin: boolean;
  /** "user" (a user token), "anon" (no token or the anon key), "service" (an API key, the scheduler, cron). */
  kind: "user" | "anon" | "service";
}

/** A row of an entity: its fields, with snake_case columns as camelCase (docs/typed-functions.md). */
export type Row = Record<string, unknown>;

/** An equality filter: every field must equal its value (`null` matches NULL). */
export type Filter = Record<string, unknown>;

export interface QueryResult<R = Row> {
  rows: R[];
  rowCount: number;
}

/**
 * SQL text: a statement has a space between its words (or is one of PostgreSQL's one-word statements), which
 * tells `query(sql, params)` from `query(entity, filter)`.
 */
export type Sql = `${string} ${string}` | "begin" | "commit" | "rollback" | "end" | "abort" | "checkpoint" | "vacuum" | "analyze";

/** Reads: entities, or SQL. */
export interface DbReader {
  /** A statement with bound parameters (`$1`, `$2`, …). */
  query<R = Row>(sql: Sql, params?: unknown[]): Promise<QueryResult<R>>;
  /** The rows of `entity` matching `filter`, in id order. */
  query<R = Row>(entity: string, filter?: Filter): Promise<R[]>;
  /** The row with this id, or null; POLICY_DENIED when it exists but the caller may not see it. */
  get<R = Row>(entity: string, id: string | number): Promise<R | null>;
  /** The first row (in id order) whose `field` equals `value`, or null. */
  lookup<R = Row>(entity: string, field: string, value: unknown): Promise<R | null>;
}

/** Reads and writes. */
export interface DbWriter extends DbReader {
  /** Inserts a row; returns its id. */
  insert(entity: string, data: Row): Promise<string | number>;
  /** Sets the given fields; returns the row as it is now. NOT_FOUND when there is no such row. */
  update<R = Row>(entity: string, id: string | number, patch: Row): Promise<R>;
  /** Deletes the row; false when there was none. */
  delete(entity: string, id: string | number): Promise<boolean>;
  /** Sets the foreign key column of `relation` (e.g. `room` → `roomId` / `room_id`) to `targetId`. */
  link(entity: string, id: string | number, relation: string, targetId: string | number): Promise<void>;
  /** Clears the foreign key column of `relation`. */
  unlink(entity: string, id: string | number, relation: string): Promise<void>;
}

export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** Calls that are held until the mutation commits (and dropped if it rolls back). */
export interface Scheduler {
  /** Runs `functionName(args)` after `delayMs`; returns the call's id. */
  runAfter(delayMs: number, functionName: string, args?: unknown): Promise<string>;
  /** Runs `functionName(args)` at `at`. */
  runAt(at: Date | number | string, functionName: string, args?: unknown): Promise<string>;
  /** Cancels a call not yet started; false when it had started or did not exist. */
  cancel(id: string): Promise<boolean>;
}

export interface Events {
  /** Publishes an event to the app's event-triggered functions; returns its id. */
  emit(name: string, data?: unknown, options?: { id?: string }): Promise<string>;
}

interface BaseCtx<M extends AuthMode> {
  auth: Auth<M>;
  /** Builds the error to throw for the caller: `throw ctx.error(code, message)`. */
  error(code: string, message: string): FunctionError;
  env: Record<string, string>;
  log: Logger;
}

export interface QueryCtx<M extends AuthMode = "user"> extends BaseCtx<M> {
  /** Read-only, in one transaction, as the caller (row-level security); `unsafe` reads as service_role. */
  db: DbReader & { unsafe: DbReader };
}

export interface MutationCtx<M extends AuthMode = "user"> extends BaseCtx<M> {
  /** Every call shares one transaction, as the caller (row-level security); `unsafe` writes as service_role. */
  db: DbWriter & { unsafe: DbWriter };
  scheduler: Scheduler;
  events: Events;
}

export interface ActionCtx<M extends AuthMode = "user"> extends BaseCtx<M> {
  /** No transaction: each call commits on its own. */
  db: DbWriter & { unsafe: DbWriter };
  scheduler: Scheduler;
  events: Events;
  /** Runs a query of this app (internal ones too) as this action's caller. */
  runQuery<R = unknown>(name: string, args?: Record<string, unknown>): Promise<R>;
  /** Runs a mutation of this app (internal ones too) as this action's caller, in its own transaction. */
  runMutation<R = unknown>(name: string, args?: Record<string, unknown>): Promise<R>;
  /** Keeps the worker until `promise` settles, after the answer was sent. */
  waitUntil(promise: Promise<unknown>): void;
}

interface Options<F extends Fields, M extends AuthMode> {
  /** Who may call; "user" when left out. Enforced by the host before any code runs. */
  auth?: M;
  /** Not reachable over HTTP or live queries; other functions (runQuery, runMutation, the scheduler) may call it. */
  internal?: boolean;
  /** The arguments; left out, the function takes none. Unknown keys are refused. */
  args?: F;
}

/**
 * `returns`: what the handler returns, as a validator. It types the handler's return and the generated clients'
 * result (`isola types generate`), and the runtime checks the value before answering (a mutation's before it
 * commits); left out, the result is whatever the handler returns, `unknown` to generated clients.
 */
type Returning<R> = { returns?: Validator<R, boolean> };

/** What `query()` returns: the module's default export. `Args` and `Result` type generated clients. */
export interface Registered<K extends FunctionKind, Args, Result> {
  readonly kind: K;
  /** Phantom types for clients (never set at run time). */
  readonly _args?: Args;
  readonly _result?: Result;
}

function define<K extends FunctionKind>(
  kind: K,
  options: Options<Fields, AuthMode> & Returning<unknown>,
  handler: (ctx: never, args: never) => unknown,
): Registered<K, never, never> {
  const { auth, internal, args, returns } = options;
  if (auth !== undefined && !["user", "public", "guest", "admin"].includes(auth)) {
    throw new TypeError(`${kind}({auth}): auth must be "user", "public", "guest" or "admin", not ${JSON.stringify(auth)}`);
  }
  if (typeof handler !== "function") throw new TypeError(`${kind}({handler}): handler must be a function`);
  if (returns !== undefined && !(typeof returns?.check === "function" && typeof returns.describe === "function")) {
    throw new TypeError(`${kind}({returns}): returns must be a validator such as v.object({...})`);
  }
  const validator = new ObjectValidator(args ?? {});
  const definition: Definition = {
    kind,
    auth: auth ?? null,
    internal: internal === true,
    schema: validator.describe(),
    check: (value) => validator.check(value, ""),
    ...(returns === undefined ? {} : { returns: { schema: returns.describe(), check: (value: unknown) => returns.check(value, "result") } }),
    handler: handler as (ctx: unknown, args: unknown) => unknown,
  };
  return Object.freeze({ kind, [DEFINITION_KEY]: definition }) as Registered<K, never, never>;
}

/** A read-only function; clients can also subscribe to it (live queries). */
export function query<F extends Fields = Record<never, never>, M extends AuthMode = "user", R = unknown>(
  definition: Options<F, M> & Returning<R> & { handler(ctx: QueryCtx<M>, args: ObjectOf<F>): R | Promise<R> },
): Registered<"query", ObjectOf<F>, Awaited<R>> {
  return define("query", definition, definition.handler) as Registered<"query", ObjectOf<F>, Awaited<R>>;
}

/** A function that writes, as one transaction: a throw rolls every write back. */
export function mutation<F extends Fields = Record<never, never>, M extends AuthMode = "user", R = unknown>(
  definition: Options<F, M> & Returning<R> & { handler(ctx: MutationCtx<M>, args: ObjectOf<F>): R | Promise<R> },
): Registered<"mutation", ObjectOf<F>, Awaited<R>> {
  return define("mutation", definition, definition.handler) as Registered<"mutation", ObjectOf<F>, Awaited<R>>;
}

/** A function with side effects outside the database; not transactional. */
export function action<F extends Fields = Record<never, never>, M extends AuthMode = "user", R = unknown>(
  definition: Options<F, M> & Returning<R> & { handler(ctx: ActionCtx<M>, args: ObjectOf<F>): R | Promise<R> },
): Registered<"action", ObjectOf<F>, Awaited<R>> {
  return define("action", definition, definition.handler) as Registered<"action", ObjectOf<F>, Awaited<R>>;
}

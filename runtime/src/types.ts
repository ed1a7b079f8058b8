// Shapes of the data exchanged with the host (see ../PROTOCOL.md) and with the function.
import type { Bindings, Db } from "./db.ts";
import type { Events } from "./events.ts";
import type { Scheduler } from "./scheduler.ts";
import type { Realtime } from "./realtime.ts";
import type { Logger } from "../functions/define.ts";

export interface FunctionInfo {
  id: string;
  name: string;
  app: string;
  version: number;
}

/** Body of POST /__isola/load. */
export interface LoadRequest {
  bundle: string;
  function: FunctionInfo;
  env: Record<string, string>;
  bindings: unknown[];
}

/** Parsed x-isola-caller header. */
/** The x-isola-caller envelope: who called, as decided by the host's gateway (ctx.auth). */
export interface Caller {
  kind: string;
  role?: string;
  userId?: string | null;
  email?: string | null;
  roles?: string[];
  isAdmin?: boolean;
  /** The end user (ctx.user): null unless a signed-in user called. */
  user: unknown;
  [key: string]: unknown;
}

export type Shape =
  | "default-function"
  | "deno-serve"
  | "fetch-object"
  | "script-handler"
  | "node-listen"
  | "typed";

export type LogLevel = "debug" | "info" | "warn" | "error";

/** ctx.log: one shape for every function, the typed functions' module's own. */
export type FunctionLogger = Logger;

/** The `ctx` handed to default-function handlers (and merged into Deno.serve's `info`). */
export interface FunctionContext {
  env: Record<string, string>;
  user: unknown;
  auth: Caller | null;
  request: {
    id: string;
    method: string;
    url: string;
    path: string;
    subpath: string;
    headers: Record<string, string>;
  };
  log: FunctionLogger;
  waitUntil(promise: unknown): void;
  function: FunctionInfo;
  /** SQL against the app's database as the caller (docs/data.md). */
  db: Db;
  /** MolnOS service bindings: `databases` is the function's own login, with only its declared grants. */
  bindings: Bindings;
  /** Publish events of the app (docs/triggers.md); inside ctx.db.transaction, delivered only on COMMIT. */
  events: Events;
  /** Durable calls of the app's functions later (docs/triggers.md); inside ctx.db.transaction, only on COMMIT. */
  scheduler: Scheduler;
  /** What started the invocation: `{type: "http"}`, or the payload of a cron, event, scheduled or websocket trigger. */
  trigger: TriggerPayload;
  /** Pushes to the app's realtime WebSocket clients: one connection, or a channel's subscribers (docs/triggers.md). */
  realtime: Realtime;
}

/** `ctx.trigger`: `type` is the trigger kind; the other fields are the kind's payload (docs/triggers.md). */
export interface TriggerPayload {
  type: string;
  [field: string]: unknown;
}

/** Everything the runtime knows about one invocation; the AsyncLocalStorage store. */
export interface Invocation {
  id: string;
  /** The request as the function sees it (envelope removed, url rewritten). */
  request: Request;
  /** The request as Deno.serve gave it (what Deno.upgradeWebSocket accepts). */
  readonly raw: Request;
  subpath: string;
  /** Epoch ms after which the host gives up, or null. */
  deadline: number | null;
  caller: Caller | null;
  info: Deno.ServeHandlerInfo;
  /** The x-isola-capability token: what this invocation may ask of the host; null outside the host. */
  capability: string | null;
  /** waitUntil promises started by this invocation and not yet settled. */
  pendingWork: number;
  /** True once the response has been sent. */
  responded: boolean;
  /** The x-isola-trigger kind ("http" when absent). */
  trigger: string;
  /** For a non-HTTP trigger, its payload (the request's JSON body); null for HTTP. */
  payload: TriggerPayload | null;
}

/** A loaded function adapted to one calling convention. */
export type Invoke = (inv: Invocation) => Promise<Response>;

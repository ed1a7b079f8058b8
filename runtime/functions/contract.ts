// What a typed function's module hands the worker runtime: the definition object behind a branded
// key. The module is bundled into each function (a copy per deploy), so the runtime recognises it
// by a registered symbol rather than by identity; the "/1" is the contract's version.

/** The key under which `query()`, `mutation()` and `action()` put their definition. */
export const DEFINITION_KEY: unique symbol = Symbol.for("isola.functions.definition/1") as never;

export type FunctionKind = "query" | "mutation" | "action";

/** Who may call: "user" (default) a signed-in user, "public" anyone, "guest" any token of the app, "admin" admins. */
export type AuthMode = "user" | "public" | "guest" | "admin";

/** A validator as JSON, for the host (stored with the version, shown by GET) and for generated types. */
export type Schema =
  | { type: "string" | "int" | "float" | "boolean" | "datetime" | "any" }
  | { type: "id"; entity: string }
  | { type: "optional" | "array"; of: Schema }
  | { type: "literal"; values: (string | number | boolean | null)[] }
  | { type: "object"; fields: Record<string, Schema> }
  | { type: "union"; of: Schema[] };

/** Why a value was refused: where (`body`, `items[2].name`; `args` for the whole) and what was wrong. */
export interface Problem {
  path: string;
  message: string;
}

/** What the runtime reads from a module's default export. */
export interface Definition {
  kind: FunctionKind;
  /** Null when the definition leaves it to the deploy (then "user"). */
  auth: AuthMode | null;
  internal: boolean;
  /** The whole argument object's schema. */
  schema: Schema;
  /** Checks an argument object; null when it is fine. */
  check(args: unknown): Problem | null;
  /**
   * What the handler returns, when the definition declares `returns`; absent otherwise (and in definitions made by
   * copies of the module older than `returns`).
   */
  returns?: { schema: Schema; check(value: unknown): Problem | null };
  handler(ctx: unknown, args: unknown): unknown;
}

/** Marks an error thrown for the caller, whichever copy of the module made it. */
export const FUNCTION_ERROR_KEY: unique symbol = Symbol.for("isola.functions.error/1") as never;

/** A typed error for the caller: `throw ctx.error("NOT_OWNER", "…")` → 400 `{"error": {"code", "message"}}`. */
export class FunctionError extends Error {
  readonly [FUNCTION_ERROR_KEY] = true;

  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "FunctionError";
  }
}

/** A thrown value that is a FunctionError (of any copy of the module), else null. */
export function functionErrorOf(value: unknown): { code: string; message: string } | null {
  if (value === null || typeof value !== "object" || (value as Record<symbol, unknown>)[FUNCTION_ERROR_KEY] !== true) return null;
  const { code, message } = value as { code: unknown; message: unknown };
  return { code: String(code), message: String(message) };
}

/** The definition behind a module's default export, if it is a typed function. */
export function definitionOf(value: unknown): Definition | null {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return null;
  const definition = (value as Record<symbol, unknown>)[DEFINITION_KEY];
  return definition !== null && typeof definition === "object" ? definition as Definition : null;
}

// v.*: argument validators. Each one checks a JSON value at a path and says what it expected and
// what it got ("body: expected string, got number"), describes itself as JSON (the host stores it
// with the version), and carries the TypeScript type of what it accepts, so handler args are typed.
import type { Problem, Schema } from "./contract.ts";

/** A validator of values of type `T`; `Optional` marks one made with `v.optional`, whose key may be absent. */
export abstract class Validator<T = unknown, Optional extends boolean = false> {
  /** Phantom: the type this validator accepts (never set at run time). */
  declare readonly type: T;
  abstract readonly optional: Optional;

  /** Null when `value` is acceptable; else the problem, located at `path`. */
  abstract check(value: unknown, path: string): Problem | null;

  abstract describe(): Schema;
}

/** The TypeScript type a validator accepts. */
export type Infer<V> = V extends Validator<infer T, boolean> ? T : never;

/** Argument shapes: field name → validator. */
export type Fields = Record<string, Validator<unknown, boolean>>;

type RequiredKeys<F extends Fields> = { [K in keyof F]: F[K] extends Validator<unknown, true> ? never : K }[keyof F];
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends Validator<unknown, true> ? K : never }[keyof F];
type Flatten<T> = { [K in keyof T]: T[K] };

/** The object type `v.object(fields)` accepts: optional fields may be left out. */
export type ObjectOf<F extends Fields> = Flatten<
  & { [K in RequiredKeys<F>]: Infer<F[K]> }
  & { [K in OptionalKeys<F>]?: Infer<F[K]> }
>;

/** How a value reads in a message: its JSON type, or "nothing" for a missing one. */
export function kindOf(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function join(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? (path === "" ? key : `${path}.${key}`) : `${path}[${JSON.stringify(key)}]`;
}

function problem(path: string, expected: string, value: unknown): Problem {
  return { path: path || "args", message: `${path || "args"}: expected ${expected}, got ${kindOf(value)}` };
}

const EXPECTED = { string: "string", boolean: "boolean", float: "number", any: "a value" } as const;

class Primitive<T> extends Validator<T, false> {
  readonly optional = false as const;
  constructor(private readonly name: "string" | "boolean" | "float" | "any", private readonly test: (value: unknown) => boolean) {
    super();
  }
  check(value: unknown, path: string): Problem | null {
    return this.test(value) ? null : problem(path, EXPECTED[this.name], value);
  }
  describe(): Schema {
    return { type: this.name };
  }
}

class IntValidator extends Validator<number, false> {
  readonly optional = false as const;
  check(value: unknown, path: string): Problem | null {
    if (typeof value !== "number") return problem(path, "an integer", value);
    if (!Number.isSafeInteger(value)) {
      return { path: path || "args", message: `${path || "args"}: expected an integer, got ${value}` };
    }
    return null;
  }
  describe(): Schema {
    return { type: "int" };
  }
}

// ISO 8601 date-time, as JSON carries it (Date.toISOString(), or with an offset).
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

class DatetimeValidator extends Validator<string, false> {
  readonly optional = false as const;
  check(value: unknown, path: string): Problem | null {
    if (typeof value !== "string") return problem(path, "an ISO 8601 date-time string", value);
    if (!DATETIME.test(value) || Number.isNaN(Date.parse(value))) {
      return { path: path || "args", message: `${path || "args"}: expected an ISO 8601 date-time such as 2026-12-02T09:00:00Z, got "${value.slice(0, 40)}"` };
    }
    return null;
  }
  describe(): Schema {
    return { type: "datetime" };
  }
}

class IdValidator extends Validator<string, false> {
  readonly optional = false as const;
  constructor(private readonly entity: string) {
    super();
  }
  check(value: unknown, path: string): Problem | null {
    // Ids are strings (uuid, and bigint as text); a table with an int4 key hands out numbers.
    if ((typeof value === "string" && value !== "") || Number.isSafeInteger(value)) return null;
    return problem(path, `an id of ${this.entity} (a non-empty string)`, value);
  }
  describe(): Schema {
    return { type: "id", entity: this.entity };
  }
}

class OptionalValidator<T> extends Validator<T | undefined, true> {
  readonly optional = true as const;
  constructor(readonly inner: Validator<T, boolean>) {
    super();
  }
  check(value: unknown, path: string): Problem | null {
    return value === undefined ? null : this.inner.check(value, path);
  }
  describe(): Schema {
    return { type: "optional", of: this.inner.describe() };
  }
}

class ArrayValidator<T> extends Validator<T[], false> {
  readonly optional = false as const;
  constructor(private readonly item: Validator<T, boolean>) {
    super();
  }
  check(value: unknown, path: string): Problem | null {
    if (!Array.isArray(value)) return problem(path, "array", value);
    for (let i = 0; i < value.length; i++) {
      const found = this.item.check(value[i], `${path || "args"}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  describe(): Schema {
    return { type: "array", of: this.item.describe() };
  }
}

type Literal = string | number | boolean | null;

class LiteralValidator<T extends Literal> extends Validator<T, false> {
  readonly optional = false as const;
  constructor(private readonly values: readonly T[]) {
    super();
  }
  check(value: unknown, path: string): Problem | null {
    if (this.values.some((allowed) => allowed === value)) return null;
    const expected = this.values.map((allowed) => JSON.stringify(allowed)).join(" or ");
    const got = value === null || ["string", "number", "boolean"].includes(typeof value) ? JSON.stringify(value) : kindOf(value);
    return { path: path || "args", message: `${path || "args"}: expected ${expected}, got ${got}` };
  }
  describe(): Schema {
    return { type: "literal", values: [...this.values] };
  }
}

export class ObjectValidator<F extends Fields> extends Validator<ObjectOf<F>, false> {
  readonly optional = false as const;
  constructor(readonly fields: F) {
    super();
  }
  check(value: unknown, path: string): Problem | null {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return problem(path, "object", value);
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!Object.hasOwn(this.fields, key)) {
        const known = Object.keys(this.fields);
        return {
          path: join(path, key),
          message: `${join(path, key)}: unknown argument (${known.length ? "expected: " + known.join(", ") : "none are taken"})`,
        };
      }
    }
    for (const [key, validator] of Object.entries(this.fields)) {
      const found = validator.check(Object.hasOwn(record, key) ? record[key] : undefined, join(path, key));
      if (found) return found;
    }
    return null;
  }
  describe(): Schema {
    const fields: Record<string, Schema> = {};
    for (const [key, validator] of Object.entries(this.fields)) fields[key] = validator.describe();
    return { type: "object", fields };
  }
}

class UnionValidator<T> extends Validator<T, false> {
  readonly optional = false as const;
  constructor(private readonly members: Validator<unknown, boolean>[]) {
    super();
  }
  check(value: unknown, path: string): Problem | null {
    if (this.members.some((member) => member.check(value, path) === null)) return null;
    const expected = this.members.map((member) => describeBriefly(member.describe())).join(" or ");
    return problem(path, expected, value);
  }
  describe(): Schema {
    return { type: "union", of: this.members.map((member) => member.describe()) };
  }
}

function describeBriefly(schema: Schema): string {
  switch (schema.type) {
    case "literal":
      return schema.values.map((value) => JSON.stringify(value)).join(" or ");
    case "id":
      return `an id of ${schema.entity}`;
    case "array":
      return `array of ${describeBriefly(schema.of)}`;
    case "optional":
      return describeBriefly(schema.of);
    case "float":
      return "number";
    case "int":
      return "an integer";
    case "any":
      return "a value";
    default:
      return schema.type;
  }
}

type Members<V extends Validator<unknown, boolean>[]> = { [K in keyof V]: Infer<V[K]> }[number];

/** The validators. Each call makes a new one; they hold no state and can be shared between functions. */
export const v = {
  string: (): Validator<string> => new Primitive<string>("string", (value) => typeof value === "string"),
  /** A safe integer (no fractions, within ±2^53). */
  int: (): Validator<number> => new IntValidator(),
  /** Any finite number. */
  float: (): Validator<number> => new Primitive<number>("float", (value) => typeof value === "number" && Number.isFinite(value)),
  boolean: (): Validator<boolean> => new Primitive<boolean>("boolean", (value) => typeof value === "boolean"),
  /** An ISO 8601 date-time string (`new Date().toISOString()`), kept as a string. */
  datetime: (): Validator<string> => new DatetimeValidator(),
  /** The id of a row of `entity`: a non-empty string (or an integer, for tables with an int4 key). */
  id: (entity: string): Validator<string> => new IdValidator(entity),
  /** The key may be left out (a present `null` is checked against `inner`). */
  optional: <T>(inner: Validator<T, boolean>): Validator<T | undefined, true> => new OptionalValidator(inner),
  array: <T>(item: Validator<T, boolean>): Validator<T[]> => new ArrayValidator(item),
  /** One of the given values: `v.literal("open", "closed")`. */
  literal: <const T extends Literal[]>(...values: T): Validator<T[number]> => {
    if (values.length === 0) throw new TypeError("v.literal(...values) needs at least one value");
    return new LiteralValidator<T[number]>(values);
  },
  /** An object with exactly these fields (unknown keys are refused). */
  object: <F extends Fields>(fields: F): ObjectValidator<F> => new ObjectValidator(fields),
  /** A value any of the members accepts. */
  union: <V extends Validator<unknown, boolean>[]>(...members: V): Validator<Members<V>> => {
    if (members.length === 0) throw new TypeError("v.union(...members) needs at least one validator");
    return new UnionValidator<Members<V>>(members);
  },
  /** Any JSON value. */
  any: (): Validator<unknown> => new Primitive<unknown>("any", (value) => value !== undefined),
};

// The entity API of ctx.db (docs/typed-functions.md, "Entities"): insert/get/query/update/delete/
// lookup/link/unlink over the app's tables. The host maps an entity to its table and fields to
// columns and writes the SQL; the worker only names what it wants.

/** Sends one db.* call for a scope (its transaction, role or binding) and returns the answer object. */
export type DbCall = (op: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>;

type Id = string | number;

export interface EntityMethods {
  insert(entity: string, data: Record<string, unknown>): Promise<Id>;
  get(entity: string, id: Id): Promise<Record<string, unknown> | null>;
  find(entity: string, filter?: Record<string, unknown>): Promise<Record<string, unknown>[]>;
  lookup(entity: string, field: string, value: unknown): Promise<Record<string, unknown> | null>;
  update(entity: string, id: Id, patch: Record<string, unknown>): Promise<Record<string, unknown>>;
  delete(entity: string, id: Id): Promise<boolean>;
  link(entity: string, id: Id, relation: string, targetId: Id): Promise<void>;
  unlink(entity: string, id: Id, relation: string): Promise<void>;
}

/** PostgreSQL statements of one word, which `query` must still take for SQL. */
export const ONE_WORD_STATEMENTS = ["abort", "analyze", "begin", "checkpoint", "commit", "end", "rollback", "vacuum"];

/**
 * The rule that tells `query(sql, params)` from `query(entity, filter)`: SQL has whitespace between its
 * words (or is one of the few one-word statements); an entity name is one word.
 */
export function isSql(text: string): boolean {
  return /\s/.test(text) || ONE_WORD_STATEMENTS.includes(text.toLowerCase());
}

function entityName(method: string, entity: unknown): string {
  if (typeof entity !== "string" || entity === "" || isSql(entity)) {
    throw new TypeError(`ctx.db.${method}(entity, …): entity must be a table's entity name such as "Message"`);
  }
  return entity;
}

function idOf(method: string, id: unknown): Id {
  if ((typeof id === "string" && id !== "") || (typeof id === "number" && Number.isSafeInteger(id))) return id;
  throw new TypeError(`ctx.db.${method}(entity, id, …): id must be a non-empty string or an integer`);
}

function record(method: string, what: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`ctx.db.${method}: ${what} must be an object of field values`);
  }
  return value as Record<string, unknown>;
}

function name(method: string, what: string, value: unknown): string {
  if (typeof value !== "string" || value === "") throw new TypeError(`ctx.db.${method}: ${what} must be a non-empty string`);
  return value;
}

/** Dates go as ISO text and bigints as text, as SQL parameters do. */
function encodeValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(encodeValue);
  return value === undefined ? null : value;
}

function encodeRecord(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined) out[key] = encodeValue(field);
  }
  return out;
}

/** The entity methods over `call`. */
export function entityMethods(call: DbCall): EntityMethods {
  return {
    async insert(entity, data) {
      const answer = await call("db.insert", { entity: entityName("insert", entity), data: encodeRecord(record("insert", "data", data)) });
      return answer.id as Id;
    },
    async get(entity, id) {
      const answer = await call("db.get", { entity: entityName("get", entity), id: idOf("get", id) });
      return (answer.row ?? null) as Record<string, unknown> | null;
    },
    async find(entity, filter = {}) {
      const answer = await call("db.find", { entity: entityName("query", entity), filter: encodeRecord(record("query", "filter", filter)) });
      return answer.rows as Record<string, unknown>[];
    },
    async lookup(entity, field, value) {
      const answer = await call("db.lookup", { entity: entityName("lookup", entity), field: name("lookup", "field", field), value: encodeValue(value) });
      return (answer.row ?? null) as Record<string, unknown> | null;
    },
    async update(entity, id, patch) {
      const answer = await call("db.update", { entity: entityName("update", entity), id: idOf("update", id), data: encodeRecord(record("update", "patch", patch)) });
      return answer.row as Record<string, unknown>;
    },
    async delete(entity, id) {
      const answer = await call("db.delete", { entity: entityName("delete", entity), id: idOf("delete", id) });
      return answer.deleted === true;
    },
    async link(entity, id, relation, targetId) {
      await call("db.link", {
        entity: entityName("link", entity),
        id: idOf("link", id),
        relation: name("link", "relation", relation),
        targetId: idOf("link", targetId),
      });
    },
    async unlink(entity, id, relation) {
      await call("db.link", { entity: entityName("unlink", entity), id: idOf("unlink", id), relation: name("unlink", "relation", relation), targetId: null });
    },
  };
}

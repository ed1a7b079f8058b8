// @isola/functions on its own: validators' verdicts and messages, the definition the runtime reads,
// and the rule that tells SQL from an entity name in ctx.db.query.
import { assert, assertEquals } from "./assert.ts";
import { action, FunctionError, mutation, query, v, type Validator } from "../functions/mod.ts";
import { definitionOf, functionErrorOf } from "../functions/contract.ts";
import { isSql } from "../src/entities.ts";

Deno.test("each validator accepts its values and names what it refused", () => {
  const cases: [Validator<unknown, boolean>, unknown, string | null][] = [
    [v.string(), "x", null],
    [v.string(), 1, "f: expected string, got number"],
    [v.int(), 3, null],
    [v.int(), 3.5, "f: expected an integer, got 3.5"],
    [v.int(), 2 ** 60, `f: expected an integer, got ${2 ** 60}`],
    [v.float(), 0.5, null],
    [v.float(), Infinity, "f: expected number, got number"],
    [v.boolean(), "true", "f: expected boolean, got string"],
    [v.datetime(), "2026-12-02T09:00:00.123Z", null],
    [v.datetime(), "2026-12-02", "f: expected an ISO 8601 date-time such as 2026-12-02T09:00:00Z, got \"2026-12-02\""],
    [v.id("Room"), "", "f: expected an id of Room (a non-empty string), got string"],
    [v.id("Room"), 12, null],
    [v.array(v.int()), [1, "2"], "f[1]: expected an integer, got string"],
    [v.literal("a", 1, null), null, null],
    [v.literal("a", 1), "b", "f: expected \"a\" or 1, got \"b\""],
    [v.object({ a: v.optional(v.string()) }), { b: 1 }, "f.b: unknown argument (expected: a)"],
    [v.union(v.string(), v.array(v.int())), [1], null],
    [v.union(v.string(), v.array(v.int())), true, "f: expected string or array of an integer, got boolean"],
    [v.any(), undefined, "f: expected a value, got nothing"],
  ];
  for (const [validator, value, message] of cases) {
    assertEquals(validator.check(value, "f")?.message ?? null, message, `${JSON.stringify(value)} against ${JSON.stringify(validator.describe())}`);
  }
});

Deno.test("a definition carries its kind, auth, internal flag and argument schema; no args means none", () => {
  const definition = definitionOf(mutation({ auth: "admin", internal: true, args: { n: v.optional(v.int()) }, handler: () => null }))!;
  assertEquals([definition.kind, definition.auth, definition.internal], ["mutation", "admin", true]);
  assertEquals(definition.schema, { type: "object", fields: { n: { type: "optional", of: { type: "int" } } } });
  assertEquals(definition.check({}), null);

  const bare = definitionOf(query({ handler: () => 1 }))!;
  assertEquals(bare.auth, null);
  assertEquals(bare.check({ x: 1 })?.message, "x: unknown argument (none are taken)");
  assertEquals(bare.check([])?.message, "args: expected object, got array");
  assert(definitionOf(() => new Response()) === null);
  // @ts-expect-error an unknown auth mode is refused (by the types, and at run time)
  let thrown = ""; try { action({ auth: "everyone", handler: () => 1 }); } catch (e) { thrown = String(e); }
  assert(thrown.includes("auth must be"), thrown);
});

Deno.test("returns: its schema and check are in the definition; left out, there are none", () => {
  const definition = definitionOf(query({ args: {}, returns: v.object({ id: v.string() }), handler: () => ({ id: "a" }) }))!;
  assertEquals(definition.returns?.schema, { type: "object", fields: { id: { type: "string" } } });
  assertEquals(definition.returns?.check({ id: "a" }), null);
  assertEquals(definition.returns?.check({ id: 1 })?.message, "result.id: expected string, got number");
  assertEquals(definition.returns?.check(null)?.message, "result: expected object, got null");
  assertEquals(definitionOf(query({ handler: () => 1 }))!.returns, undefined);
  let thrown = "";
  // @ts-expect-error returns takes a validator
  try { query({ returns: "string", handler: () => "x" }); } catch (e) { thrown = String(e); }
  assert(thrown.includes("returns must be a validator"), thrown);
});

Deno.test("ctx.error's errors are recognised whichever copy of the module made them", () => {
  assertEquals(functionErrorOf(new FunctionError("NOPE", "no")), { code: "NOPE", message: "no" });
  assertEquals(functionErrorOf(new Error("plain")), null);
});

Deno.test("query(sql, params) or query(entity, filter): whitespace or a one-word statement makes SQL", () => {
  for (const sql of ["select 1", "select\n1", "BEGIN", "commit", "vacuum"]) assert(isSql(sql), sql);
  for (const entity of ["Issue", "chat_messages", "Begins"]) assert(!isSql(entity), entity);
});

Deno.test("handler types: args from the validators, ctx.auth.userId a string only where the mode admits users alone", () => {
  // Type-checked with this file (deno test checks it); at run time only the definitions are made.
  mutation({
    args: { body: v.string(), count: v.optional(v.int()) },
    handler(ctx, args) {
      const userId: string = ctx.auth.userId;
      const body: string = args.body;
      // @ts-expect-error an optional argument may be undefined
      const count: number = args.count;
      // @ts-expect-error no such argument
      const other = args.other;
      return { userId, body, count, other };
    },
  });
  query({
    auth: "public",
    handler(ctx) {
      // @ts-expect-error a public function may be called by nobody: userId may be null
      const userId: string = ctx.auth.userId;
      const maybe: string | null = ctx.auth.userId;
      // @ts-expect-error a query cannot write
      ctx.db.insert("Issue", {});
      return { userId, maybe };
    },
  });
  action({
    auth: "admin",
    async handler(ctx) {
      const admin: string = ctx.auth.userId;
      const issues: unknown[] = await ctx.db.query("Issue", { teamId: "t" });
      const { rows } = await ctx.db.query("select 1 as one", []);
      return { admin, issues, rows, viaQuery: await ctx.runQuery("listIssues", {}) };
    },
  });

  // returns types the handler's return, and the result generated clients see.
  const typedResult = query({ returns: v.array(v.int()), handler: () => [1, 2] });
  const result: number[] | undefined = typedResult._result;
  mutation({
    returns: v.object({ id: v.string() }),
    // @ts-expect-error the handler must return what returns accepts
    handler: async () => ({ id: 1 }),
  });
  assert(result === undefined); // a phantom: only its type exists
});

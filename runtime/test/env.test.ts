// Deno.env and process.env see only the function's variables (the worker has no --allow-env).
import { assertEquals } from "./assert.ts";
import { buildSource, PROCESS_TEST, withWorker } from "./harness.ts";

const PROBE = `
import { env as importedEnv } from "node:process";
import os from "node:os";

export default async function handler(req, ctx) {
  const out = {
    denoObject: Deno.env.toObject(),
    processObject: { ...process.env },
    processKeys: Object.keys(process.env).sort(),
    imported: importedEnv.API_KEY ?? null,
    has: Deno.env.has("API_KEY"),
    real: ["HOME", "DENO_DIR", "NO_COLOR", "PATH"].map((n) => Deno.env.get(n) ?? process.env[n] ?? null),
    tmpdir: os.tmpdir(),
    tmpVar: Deno.env.get("TMPDIR") ?? null,
  };
  Deno.env.set("SET_BY_FUNCTION", "v1");
  out.setSeenByProcess = process.env.SET_BY_FUNCTION ?? null;
  process.env.SET_BY_PROCESS = "v2";
  out.setSeenByDeno = Deno.env.get("SET_BY_PROCESS") ?? null;
  Deno.env.delete("SET_BY_FUNCTION");
  delete process.env.SET_BY_PROCESS;
  out.afterDelete = [Deno.env.get("SET_BY_FUNCTION") ?? null, process.env.SET_BY_PROCESS ?? null];
  out.ctxEnv = ctx.env;
  return Response.json(out);
}
`;

Deno.test({
  name: "Deno.env and process.env: only the function's env (TMPDIR readable, not listed), never the process's",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      const bundle = await buildSource("env-probe", PROBE);
      await w.loadOk(bundle, { env: { API_KEY: "key-1", OTHER: "two" } });
      const res = await w.invoke("/fn");
      assertEquals(res.status, 200);
      const seen = await res.json();
      const expected = { API_KEY: "key-1", OTHER: "two" };
      assertEquals(seen.denoObject, expected);
      assertEquals(seen.processObject, expected);
      assertEquals(seen.processKeys, ["API_KEY", "OTHER"]);
      assertEquals(seen.tmpVar, `${w.dir}/tmp`);
      assertEquals(seen.imported, "key-1");
      assertEquals(seen.has, true);
      // The worker process really has these (harness.ts sets them); the function must not see them.
      assertEquals(seen.real, [null, null, null, null]);
      assertEquals(seen.tmpdir, `${w.dir}/tmp`);
      assertEquals(seen.setSeenByProcess, "v1");
      assertEquals(seen.setSeenByDeno, "v2");
      assertEquals(seen.afterDelete, [null, null]);
      assertEquals(seen.ctxEnv, { API_KEY: "key-1", OTHER: "two" });
    }),
});

// The invocation envelope: x-isola-* headers, req.url composition, ctx, error conventions.
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { buildSource, PROCESS_TEST, rawRequest, withWorker } from "./harness.ts";

const PROBE = `
export default async function handler(req, ctx) {
  const url = new URL(req.url);
  if (url.pathname.endsWith("/spoof")) {
    return new Response("mine", { status: 503, headers: { "x-isola-error": "BOOT_ERROR", "x-own": "1" } });
  }
  if (url.pathname.endsWith("/not-a-response")) return { hello: "world" };
  return Response.json({
    url: req.url,
    method: req.method,
    headers: Object.fromEntries(req.headers),
    body: await req.text(),
    ctx: { request: ctx.request, user: ctx.user, auth: ctx.auth, function: ctx.function, env: ctx.env },
  });
}
`;

const probe = () => buildSource("envelope-probe", PROBE);

const ENVELOPE = {
  "x-isola-invocation-id": "inv-123",
  "x-isola-origin": "https://api.example.com:8443",
  "x-isola-subpath": "/tasks/1",
  "x-isola-deadline": String(Date.now() + 60_000),
  "x-isola-caller": JSON.stringify({ kind: "user", user: { id: "u1", email: "a@b.c" } }),
};

Deno.test({
  name: "envelope headers never reach the function; req.url = origin + target; ctx",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await probe(), { name: "hello", env: { API_KEY: "k" } });
      const res = await w.invoke("/hello/tasks/1?x=2&y=%C3%A9", {
        method: "PUT",
        envelope: { ...ENVELOPE, "x-isola-something-new": "also stripped" },
        headers: { "x-caller-header": "kept", "content-type": "text/plain" },
        body: "payload",
      });
      assertEquals(res.status, 200);
      const seen = await res.json();
      assertEquals(seen.url, "https://api.example.com:8443/hello/tasks/1?x=2&y=%C3%A9");
      assertEquals(seen.method, "PUT");
      assertEquals(seen.body, "payload");
      assertEquals(Object.keys(seen.headers).filter((h) => h.startsWith("x-isola-")), []);
      assertEquals(seen.headers["x-caller-header"], "kept");
      assertEquals(seen.ctx.request.id, "inv-123");
      assertEquals(seen.ctx.request.url, seen.url);
      assertEquals(seen.ctx.request.path, "/hello/tasks/1");
      assertEquals(seen.ctx.request.subpath, "/tasks/1");
      assertEquals(seen.ctx.request.method, "PUT");
      assertEquals(seen.ctx.request.headers["x-caller-header"], "kept");
      assertEquals(Object.keys(seen.ctx.request.headers).filter((h) => h.startsWith("x-isola-")), []);
      assertEquals(seen.ctx.user, { id: "u1", email: "a@b.c" });
      assertEquals(seen.ctx.auth.kind, "user");
      assertEquals(seen.ctx.function, {
        id: "00000000-0000-4000-8000-000000000001",
        name: "hello",
        app: "default",
        version: 3,
      });
      assertEquals(seen.ctx.env, { API_KEY: "k" });
    }),
});

Deno.test({
  name: "req.url from an origin-form request target, as the host sends it",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await probe());
      const answer = await rawRequest(
        w.socket,
        "GET /hello/a%20b/c?q=1 HTTP/1.1\r\nhost: localhost\r\nx-isola-origin: http://127.0.0.1:8787\r\n" +
          "x-isola-invocation-id: raw-1\r\nconnection: close\r\n\r\n",
      );
      assertMatch(answer, /^HTTP\/1\.1 200 /);
      const seen = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4).replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, ""));
      assertEquals(seen.url, "http://127.0.0.1:8787/hello/a%20b/c?q=1");
      assertEquals(seen.ctx.user, null);
      assertEquals(seen.ctx.auth, null);
      assertEquals(seen.ctx.request.subpath, "");
    }),
});

Deno.test({
  name: "a function's own x-isola-error header is stripped; its status and body pass through",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await probe());
      const res = await w.invoke("/hello/spoof");
      assertEquals(res.status, 503);
      assertEquals(res.headers.get("x-isola-error"), null);
      assertEquals(res.headers.get("x-own"), "1");
      assertEquals(await res.text(), "mine");
    }),
});

Deno.test({
  name: "a handler returning something that is not a Response is a FUNCTION_ERROR",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await probe());
      const res = await w.invoke("/hello/not-a-response", { envelope: { "x-isola-invocation-id": "nr-1" } });
      assertEquals(res.status, 500);
      assertEquals(res.headers.get("x-isola-error"), "FUNCTION_ERROR");
      assertMatch((await res.json()).error.message, /instead of a Response/);
      await w.waitForLog((l) => l.inv === "nr-1" && l.level === "error");
    }),
});

Deno.test({
  name: "before a load: invocations get BOOT_ERROR; health answers; unknown control paths 404",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      const res = await w.invoke("/hello");
      assertEquals(res.status, 503);
      assertEquals(res.headers.get("x-isola-error"), "BOOT_ERROR");
      assert(typeof (await res.json()).error.message === "string");
      const health = await w.control("GET", "/__isola/health");
      assertEquals(health.status, 200);
      const stats = await health.json();
      assertEquals([stats.inFlight, stats.pendingBackground], [0, 0]);
      assert(stats.heapUsed > 0 && stats.rss > stats.heapUsed, JSON.stringify(stats));
      const unknown = await w.control("GET", "/__isola/nope");
      assertEquals(unknown.status, 404);
      await unknown.body?.cancel();
    }),
});

Deno.test({
  name: "load happens once: a second load is refused with 409",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      const bundle = await probe();
      await w.loadOk(bundle);
      const again = await w.load(bundle);
      assertEquals(again.status, 409);
      await again.body?.cancel();
      assertEquals((await w.invoke("/hello")).status, 200);
    }),
});

Deno.test({
  name: "a bundle that throws at import: load answers 500 with the message, then BOOT_ERROR",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      const bundle = await buildSource(
        "throws-at-import",
        `if (!globalThis.neverSet) throw new Error("kaboom at import");\nexport default () => new Response("x");\n`,
      );
      const res = await w.load(bundle);
      assertEquals(res.status, 500);
      const { error } = await res.json();
      assertEquals(error.message, "kaboom at import");
      assertMatch(error.stack, /kaboom at import/);
      const log = await w.waitForLog((l) => l.level === "error" && l.msg.includes("kaboom"));
      assertEquals(log.inv, null);
      const call = await w.invoke("/fn");
      assertEquals(call.status, 503);
      assertEquals(call.headers.get("x-isola-error"), "BOOT_ERROR");
      assertMatch((await call.json()).error.message, /kaboom at import/);
    }),
});

Deno.test({
  name: "a bundle without any handler: load answers 500 explaining the shapes",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      const bundle = await buildSource("no-handler", `export const notAHandler = 1;\n`);
      const res = await w.load(bundle);
      assertEquals(res.status, 500);
      assertMatch((await res.json()).error.message, /no handler found/);
    }),
});

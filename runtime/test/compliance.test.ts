// The fixture behaviour list (test/fixtures/functions/README.md) against every handler shape.
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { buildFixture, PROCESS_TEST, Worker } from "./harness.ts";

interface Fixture {
  name: string;
  shape: string;
  /** The runtime sees the error (x-isola-error), rather than a framework answering 500 itself. */
  runtimeCatchesThrow: boolean;
  streams: boolean;
}

const FIXTURES: Fixture[] = [
  { name: "deno-serve", shape: "deno-serve", runtimeCatchesThrow: true, streams: true },
  { name: "deno-serve-options", shape: "deno-serve", runtimeCatchesThrow: true, streams: true },
  { name: "default-function", shape: "default-function", runtimeCatchesThrow: true, streams: true },
  { name: "fetch-object", shape: "fetch-object", runtimeCatchesThrow: true, streams: true },
  { name: "script-handler", shape: "script-handler", runtimeCatchesThrow: true, streams: false },
  { name: "node-http", shape: "node-listen", runtimeCatchesThrow: true, streams: true },
  { name: "express", shape: "node-listen", runtimeCatchesThrow: false, streams: true },
  { name: "hono-node", shape: "node-listen", runtimeCatchesThrow: false, streams: true },
];

const API_KEY = "sk-test-4711";

for (const fixture of FIXTURES) {
  let worker: Worker | null = null;
  const started = (): Worker => {
    if (!worker) throw new Error("the load test did not start the worker");
    return worker;
  };
  const test = (name: string, fn: (w: Worker) => Promise<void>) =>
    Deno.test({ name: `${fixture.name}: ${name}`, ...PROCESS_TEST, fn: () => fn(started()) });

  Deno.test({
    name: `${fixture.name}: loads as ${fixture.shape}`,
    ...PROCESS_TEST,
    fn: async () => {
      const bundle = await buildFixture(fixture.name);
      worker = await Worker.start();
      assertEquals(await worker.loadOk(bundle, { name: fixture.name, env: { API_KEY } }), fixture.shape);
    },
  });

  test("echo: method, path, query, header and body as the function saw them", async (w) => {
    const res = await w.invoke("/fn/echo?a=1&b=two%20words", {
      method: "POST",
      headers: { "x-test": "hello-header", "content-type": "text/plain" },
      body: "hello body ✓",
    });
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("x-shape"), fixture.name);
    assertEquals(await res.json(), {
      method: "POST",
      path: "/fn/echo",
      query: { a: "1", b: "two words" },
      header: "hello-header",
      body: "hello body ✓",
    });
  });

  test("echo: GET without body or header", async (w) => {
    const res = await w.invoke("/other/prefix/echo");
    assertEquals(res.status, 200);
    assertEquals(await res.json(), { method: "GET", path: "/other/prefix/echo", query: {}, header: null, body: "" });
  });

  test("status/418: own status, body and header pass through", async (w) => {
    const res = await w.invoke("/fn/status/418");
    assertEquals(res.status, 418);
    assertEquals(res.headers.get("x-custom"), "yes");
    assertEquals(res.headers.get("x-isola-error"), null);
    assertEquals(await res.text(), "teapot");
  });

  test(fixture.streams ? "stream: five events arrive ~30 ms apart" : "stream: five events at once", async (w) => {
    const started = performance.now();
    const res = await w.invoke("/fn/stream");
    assertEquals(res.status, 200);
    assertMatch(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const arrivals: number[] = [];
    let text = "";
    for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      // When each event was first complete in what had arrived.
      while (arrivals.length < 5 && text.includes(`data: ${arrivals.length}\n\n`)) {
        arrivals.push(performance.now() - started);
      }
    }
    assertEquals(text, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n");
    if (fixture.streams) {
      // Written 4 × 30 ms apart: buffering would deliver them together.
      const spread = arrivals[4] - arrivals[0];
      assert(spread >= 80, `events were not streamed: arrivals ${arrivals.map((t) => t.toFixed(0))} ms`);
    }
  });

  test("throw: 500 and the error logged at error level for the invocation", async (w) => {
    const id = crypto.randomUUID();
    const res = await w.invoke("/fn/throw", { envelope: { "x-isola-invocation-id": id } });
    assertEquals(res.status, 500);
    const body = await res.text();
    if (fixture.runtimeCatchesThrow) {
      assertEquals(res.headers.get("x-isola-error"), "FUNCTION_ERROR");
      const { error } = JSON.parse(body);
      assertEquals(error.message, "boom");
      assertMatch(error.stack, /^Error: boom\n\s+at /);
    } else {
      assertEquals(res.headers.get("x-isola-error"), null);
    }
    const log = await w.waitForLog((l) => l.inv === id && l.level === "error");
    assertMatch(log.msg, /boom/);
  });

  test("env: API_KEY read the shape's natural way", async (w) => {
    const res = await w.invoke("/fn/env");
    assertEquals(res.status, 200);
    assertEquals(await res.json(), { apiKey: API_KEY });
  });

  test("anything else: 404 no route", async (w) => {
    const res = await w.invoke("/fn/nothing-here");
    assertEquals(res.status, 404);
    assertEquals(res.headers.get("x-isola-error"), null);
    assertEquals(await res.text(), "no route");
  });

  test("shutdown answers 200; no stdout line broke the protocol", async (w) => {
    try {
      const res = await w.control("POST", "/__isola/shutdown", { reason: "terminated", graceMs: 500 });
      assertEquals(res.status, 200);
      assertEquals((await res.json()).settled, true);
      assertEquals(w.logs.filter((l) => l.t !== "log"), []);
    } finally {
      await w.stop();
      worker = null;
    }
  });
}

// Background work, logs, shutdown, /tmp and health of a running worker.
import { assert, assertEquals, assertLess, assertMatch } from "./assert.ts";
import { buildSource, PROCESS_TEST, withWorker, type Worker } from "./harness.ts";

const FUNCTION = `
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let release = null;
console.log("top level says hi");

addEventListener("beforeunload", (event) => {
  console.log("beforeunload:" + event.detail.reason);
  EdgeRuntime.waitUntil(sleep(100).then(() => console.log("flushed on unload")));
});

export default async function handler(req, ctx) {
  const url = new URL(req.url);
  const route = url.pathname.split("/").pop();
  const tag = url.searchParams.get("tag") ?? "";
  switch (route) {
    case "background":
      ctx.waitUntil((async () => {
        await sleep(600);
        console.log("background done " + tag);
      })());
      return new Response("answered");
    case "edge-background":
      EdgeRuntime.waitUntil(sleep(50).then(() => console.warn("edge background done " + tag)));
      return new Response("answered");
    case "background-fails":
      ctx.waitUntil(sleep(20).then(() => { throw new Error("background broke " + tag); }));
      return new Response("answered");
    case "forever":
      ctx.waitUntil(new Promise(() => {}));
      return new Response("answered");
    case "log-later": {
      // Concurrent invocations interleave; each line must still name its own invocation.
      await sleep(Number(url.searchParams.get("ms")));
      console.log("later " + tag);
      ctx.log.warn("ctx.log " + tag);
      return new Response("ok");
    }
    case "stray-output":
      process.stdout.write("written to process.stdout " + tag + "\\n");
      Deno.stdout.writeSync(new TextEncoder().encode("written to Deno.stdout " + tag + "\\n"));
      console.error("to console.error", { tag });
      return new Response("ok");
    case "stray-exception":
      setTimeout(() => { throw new Error("thrown in a timer " + tag); }, 10);
      return new Response("ok");
    case "write-tmp": {
      const file = Deno.env.get("TMPDIR") + "/" + tag;
      await Deno.writeTextFile(file, "data");
      const madeDir = await Deno.makeTempDir();
      if (url.searchParams.has("keep")) {
        ctx.waitUntil(sleep(300).then(() => Deno.readTextFile(file)).then((text) => console.log("still there: " + text)));
      }
      return Response.json({ file, madeDir });
    }
    case "list-tmp": {
      const names = [];
      for await (const entry of Deno.readDir(Deno.env.get("TMPDIR"))) names.push(entry.name);
      return Response.json(names.sort());
    }
    case "hold": {
      await new Promise((resolve) => { release = resolve; });
      return new Response("released");
    }
    case "wait-abort": {
      await new Promise((resolve) => req.signal.addEventListener("abort", resolve, { once: true }));
      console.log("aborted " + tag);
      return new Response("aborted");
    }
    case "release":
      release?.();
      return new Response(release ? "ok" : "nothing held");
    default:
      return new Response("no route", { status: 404 });
  }
}
`;

const bundle = () => buildSource("lifecycle", FUNCTION);

async function health(w: Worker): Promise<{ inFlight: number; pendingBackground: number }> {
  const res = await w.control("GET", "/__isola/health");
  assertEquals(res.status, 200);
  return await res.json();
}

async function untilIdle(w: Worker): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const h = await health(w);
    if (h.inFlight === 0 && h.pendingBackground === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("worker never became idle");
}

Deno.test({
  name: "ctx.waitUntil: the answer does not wait; the work goes on, is counted, and logs as the invocation",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await bundle());
      const started = performance.now();
      const res = await w.invoke("/fn/background?tag=a1", { envelope: { "x-isola-invocation-id": "bg-1" } });
      assertEquals(await res.text(), "answered");
      assertLess(performance.now() - started, 500, "the response waited for the background work");
      assertEquals((await health(w)).pendingBackground, 1);
      const log = await w.waitForLog((l) => l.msg === "background done a1");
      assertEquals(log.inv, "bg-1");
      await untilIdle(w);
    }),
});

Deno.test({
  name: "EdgeRuntime.waitUntil logs as the invocation; a rejected waitUntil promise is logged as an error",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await bundle());
      await (await w.invoke("/fn/edge-background?tag=e1", { envelope: { "x-isola-invocation-id": "edge-1" } })).text();
      const warn = await w.waitForLog((l) => l.msg === "edge background done e1");
      assertEquals([warn.inv, warn.level], ["edge-1", "warn"]);
      await (await w.invoke("/fn/background-fails?tag=f1", { envelope: { "x-isola-invocation-id": "fail-1" } })).text();
      const error = await w.waitForLog((l) => l.msg.includes("background broke f1"));
      assertEquals([error.inv, error.level], ["fail-1", "error"]);
      assertMatch(error.msg, /at /);
      await untilIdle(w);
    }),
});

Deno.test({
  name: "logs: concurrent invocations are told apart; top level is inv null; ctx.log levels",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await bundle());
      const top = await w.waitForLog((l) => l.msg === "top level says hi");
      assertEquals([top.inv, top.level], [null, "info"]);
      const calls = [["slow", 150], ["fast", 10], ["mid", 80]].map(([tag, ms]) =>
        w.invoke(`/fn/log-later?tag=${tag}&ms=${ms}`, { envelope: { "x-isola-invocation-id": `c-${tag}` } })
          .then((r) => r.text())
      );
      await Promise.all(calls);
      for (const tag of ["slow", "fast", "mid"]) {
        assertEquals((await w.waitForLog((l) => l.msg === `later ${tag}`)).inv, `c-${tag}`);
        const viaCtx = await w.waitForLog((l) => l.msg === `ctx.log ${tag}`);
        assertEquals([viaCtx.inv, viaCtx.level], [`c-${tag}`, "warn"]);
      }
      for (const log of w.logs) assert(typeof log.ts === "number" && log.t === "log", JSON.stringify(log));
    }),
});

Deno.test({
  name: "logs: process.stdout, Deno.stdout and console.error become records, never raw lines",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await bundle());
      await (await w.invoke("/fn/stray-output?tag=s1", { envelope: { "x-isola-invocation-id": "out-1" } })).text();
      const a = await w.waitForLog((l) => l.msg === "written to process.stdout s1");
      const b = await w.waitForLog((l) => l.msg === "written to Deno.stdout s1");
      const c = await w.waitForLog((l) => l.msg.startsWith("to console.error"));
      assertEquals([a.inv, b.inv, c.inv, c.level], ["out-1", "out-1", "out-1", "error"]);
      assertEquals(c.msg, `to console.error { tag: "s1" }`);
      assertEquals(w.logs.filter((l) => l.t !== "log"), []);
    }),
});

Deno.test({
  name: "an exception thrown outside the handler is logged and does not kill the worker",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await bundle());
      await (await w.invoke("/fn/stray-exception?tag=x1")).text();
      const log = await w.waitForLog((l) => l.msg.includes("thrown in a timer x1"));
      assertEquals(log.level, "error");
      await new Promise((resolve) => setTimeout(resolve, 50));
      assertEquals(await (await w.invoke("/fn/release")).text(), "nothing held");
    }),
});

Deno.test({
  name: "shutdown: beforeunload with detail.reason; waitUntil work started there finishes first",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await bundle());
      const res = await w.control("POST", "/__isola/shutdown", { reason: "idle", graceMs: 2000 });
      const answeredAt = Date.now();
      assertEquals(res.status, 200);
      assertEquals((await res.json()).settled, true);
      await w.waitForLog((l) => l.msg === "beforeunload:idle");
      const flushed = await w.waitForLog((l) => l.msg === "flushed on unload");
      assert(flushed.ts <= answeredAt, "shutdown answered before the waitUntil work settled");
    }),
});

Deno.test({
  name: "shutdown: background work that never settles is given up after graceMs",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await bundle());
      await (await w.invoke("/fn/forever")).text();
      const started = performance.now();
      const res = await w.control("POST", "/__isola/shutdown", { reason: "replaced", graceMs: 300 });
      const took = performance.now() - started;
      assertEquals(res.status, 200);
      const body = await res.json();
      assertEquals(body.settled, false);
      assert(took >= 280 && took < 2000, `shutdown took ${took} ms`);
      await w.waitForLog((l) => l.msg === "beforeunload:replaced");
    }),
});

Deno.test({
  name: "/tmp is emptied once the worker is idle, not while background work still needs it",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await bundle());
      const first = await (await w.invoke("/fn/write-tmp?tag=one.txt")).json();
      assertEquals(first.file, `${w.dir}/tmp/one.txt`);
      assert(first.madeDir.startsWith(`${w.dir}/tmp/`), first.madeDir);
      await untilIdle(w);
      assertEquals(await (await w.invoke("/fn/list-tmp")).json(), []);

      await (await w.invoke("/fn/write-tmp?tag=two.txt&keep")).json();
      const kept = await w.waitForLog((l) => l.msg.startsWith("still there"));
      assertEquals(kept.msg, "still there: data");
      await untilIdle(w);
      const left: string[] = [];
      for await (const entry of Deno.readDir(`${w.dir}/tmp`)) left.push(entry.name);
      assertEquals(left, []);
    }),
});

Deno.test({
  name: "health answers while a handler is waiting, and counts it in flight",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await bundle());
      const held = w.invoke("/fn/hold").then((r) => r.text());
      let stats = await health(w);
      for (let i = 0; i < 50 && stats.inFlight === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        stats = await health(w);
      }
      const started = performance.now();
      stats = await health(w);
      assertLess(performance.now() - started, 500);
      assertEquals(stats.inFlight, 1);
      assertEquals(await (await w.invoke("/fn/release")).text(), "ok");
      assertEquals(await held, "released");
      await untilIdle(w);
    }),
});

Deno.test({
  name: "the host's connection going away aborts the function's req.signal, also early in the invocation",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await bundle());
      // The runtime relays the cancellation from the sweep after the invocation's first: an early
      // cancel (10 ms) and one of an invocation already relayed (300 ms) must both arrive.
      for (const [tag, after] of [["c1", 10], ["c2", 300]] as const) {
        const cancel = new AbortController();
        const res = w.invoke(`/fn/wait-abort?tag=${tag}`, {
          signal: cancel.signal,
          envelope: { "x-isola-invocation-id": `cancel-${tag}`, "x-isola-deadline": String(Date.now() + 60_000) },
        });
        setTimeout(() => cancel.abort(), after);
        await res.then((r) => r.text()).catch(() => {});
        assertEquals((await w.waitForLog((l) => l.msg === `aborted ${tag}`)).inv, `cancel-${tag}`);
      }
      await untilIdle(w);
    }),
});

Deno.test({
  name: "x-isola-deadline aborts the function's req.signal when it passes",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await bundle());
      const started = performance.now();
      const res = await w.invoke("/fn/wait-abort?tag=d1", {
        envelope: { "x-isola-invocation-id": "dl-1", "x-isola-deadline": String(Date.now() + 150) },
      });
      assertEquals(await res.text(), "aborted");
      const took = performance.now() - started;
      assert(took >= 120 && took < 2000, `answered after ${took} ms`);
      assertEquals((await w.waitForLog((l) => l.msg === "aborted d1")).inv, "dl-1");
    }),
});

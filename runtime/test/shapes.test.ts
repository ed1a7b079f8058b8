// Details of each handler shape beyond the shared compliance list.
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { buildSource, PROCESS_TEST, rawRequest, withWorker, type Worker } from "./harness.ts";

/** Opens a WebSocket through the worker socket, sends `messages`, collects as many replies. */
async function wsExchange(w: Worker, target: string, messages: string[], protocols?: string[]): Promise<{ replies: string[]; protocol: string }> {
  const ws = new WebSocket(`ws://worker${target}`, {
    client: w.client,
    protocols,
    headers: { "x-isola-invocation-id": "ws-1", "x-isola-origin": "https://fn.example.test" },
  });
  const replies: string[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ws.onerror = () => reject(new Error("websocket error"));
    ws.onmessage = (e) => {
      replies.push(String(e.data));
      if (replies.length === messages.length) ws.close(1000, "bye");
    };
    ws.onclose = () => resolve();
  });
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("websocket did not open"));
  });
  const protocol = ws.protocol;
  for (const m of messages) ws.send(m);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    done,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`websocket replies: ${replies}`)), 5000))),
  ]);
  clearTimeout(timer);
  return { replies, protocol };
}

Deno.test({
  name: "deno-serve: Deno.serve({handler}) form; the server object looks like Deno.HttpServer; info carries ctx",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      const bundle = await buildSource("serve-handler-option", `
        let listened = null;
        const server = Deno.serve({
          port: 9999,
          onListen(addr) { listened = addr; },
          handler: (req, info) => Response.json({
            listened,
            addr: server.addr,
            methods: ["shutdown", "ref", "unref"].map((m) => typeof server[m]),
            finished: server.finished instanceof Promise,
            remote: info.remoteAddr,
            completed: info.completed instanceof Promise,
            ctxRequestId: info.request.id,
            env: info.env,
          }),
        });
      `);
      assertEquals(await w.loadOk(bundle, { env: { A: "1" } }), "deno-serve");
      const seen = await (await w.invoke("/x", { envelope: { "x-isola-invocation-id": "info-1" } })).json();
      assertEquals(seen.listened, { transport: "tcp", hostname: "0.0.0.0", port: 9999 });
      assertEquals(seen.addr, seen.listened);
      assertEquals(seen.methods, ["function", "function", "function"]);
      assertEquals([seen.finished, seen.completed], [true, true]);
      assertEquals(seen.remote.transport, "tcp");
      assertEquals(seen.ctxRequestId, "info-1");
      assertEquals(seen.env, { A: "1" });
    }),
});

Deno.test({
  name: "deno-serve: the function's own onError answers for a throwing handler (its response, no x-isola-error)",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      const bundle = await buildSource("serve-on-error", `
        Deno.serve({ onError: (e) => new Response("handled: " + e.message, { status: 502 }) }, () => {
          throw new Error("inner");
        });
      `);
      await w.loadOk(bundle);
      const res = await w.invoke("/x", { envelope: { "x-isola-invocation-id": "oe-1" } });
      assertEquals(res.status, 502);
      assertEquals(res.headers.get("x-isola-error"), null);
      assertEquals(await res.text(), "handled: inner");
      await w.waitForLog((l) => l.inv === "oe-1" && l.level === "error" && l.msg.includes("inner"));
    }),
});

Deno.test({
  name: "default-function: Deno.upgradeWebSocket works on the request the function received",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      const bundle = await buildSource("deno-websocket", `
        export default (req) => {
          if (req.headers.get("upgrade") !== "websocket") return new Response("plain");
          const { socket, response } = Deno.upgradeWebSocket(req);
          socket.onmessage = (e) => socket.send("echo:" + e.data + ":" + new URL(req.url).pathname);
          return response;
        };
      `);
      await w.loadOk(bundle);
      const { replies } = await wsExchange(w, "/fn/ws", ["a", "b"]);
      assertEquals(replies, ["echo:a:/fn/ws", "echo:b:/fn/ws"]);
    }),
});

Deno.test({
  name: "fetch-object: ctx has waitUntil and passThroughOnException; env is the function's env",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      const bundle = await buildSource("fetch-ctx", `
        export default {
          async fetch(req, env, ctx) {
            ctx.waitUntil(Promise.resolve().then(() => console.log("bg from fetch")));
            return Response.json({ env, kinds: [typeof ctx.waitUntil, typeof ctx.passThroughOnException] });
          },
        };
      `);
      await w.loadOk(bundle, { env: { K: "v" } });
      const seen = await (await w.invoke("/x", { envelope: { "x-isola-invocation-id": "fo-1" } })).json();
      assertEquals(seen, { env: { K: "v" }, kinds: ["function", "function"] });
      assertEquals((await w.waitForLog((l) => l.msg === "bg from fetch")).inv, "fo-1");
    }),
});

const SCRIPT = `
function handler(request, context) {
  if (request.path.endsWith("/nothing")) return "not an object";
  if (request.path.endsWith("/empty")) return { statusCode: 204 };
  return {
    statusCode: 201,
    headers: { "x-from": "script" },
    body: {
      request,
      context: { functionId: context.functionId, functionName: context.functionName, bindings: context.bindings, same: context.request === request },
    },
  };
}
`;

Deno.test({
  name: "script-handler: request/context objects, JSON body parsing, result conversion",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      const bundle = await buildSource("script-details", SCRIPT, { script: true });
      const bindings = [{ service: "databases", permissions: [{ resource: "table", actions: ["read"], targets: ["orders"] }] }];
      assertEquals(await w.loadOk(bundle, { name: "scripted", bindings }), "script-handler");
      const res = await w.invoke("/scripted/api/users/7?x=1", {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", "x-h": "v" },
        body: JSON.stringify({ n: 1, list: [true] }),
        envelope: { "x-isola-subpath": "/api/users/7" },
      });
      assertEquals(res.status, 201);
      assertEquals(res.headers.get("x-from"), "script");
      assertMatch(res.headers.get("content-type") ?? "", /^application\/json/);
      const { request, context } = await res.json();
      assertEquals(request.method, "POST");
      assertEquals(request.path, "/scripted/api/users/7");
      assertEquals(request.subpath, "/api/users/7");
      assertEquals(request.query, { x: "1" });
      assertEquals(request.headers["x-h"], "v");
      assertEquals(request.body, { n: 1, list: [true] });
      assertEquals(context, {
        functionId: "00000000-0000-4000-8000-000000000001",
        functionName: "scripted",
        // One client per bound service (its methods do not survive JSON): context.bindings.databases.
        bindings: { databases: {} },
        same: true,
      });

      const text = await w.invoke("/scripted/x", { method: "POST", headers: { "content-type": "text/plain" }, body: "{\"n\":1}" });
      assertEquals((await text.json()).request.body, "{\"n\":1}");

      const empty = await w.invoke("/scripted/empty");
      assertEquals(empty.status, 204);
      assertEquals(await empty.text(), "");

      const bad = await w.invoke("/scripted/nothing");
      assertEquals(bad.status, 500);
      assertEquals(bad.headers.get("x-isola-error"), "FUNCTION_ERROR");
      assertMatch((await bad.json()).error.message, /expected \{statusCode, headers\?, body\}/);
    }),
});

const NODE_SERVER = `
import { createServer } from "node:http";
import { gzipSync } from "node:zlib";
import { WebSocketServer } from "npm:ws@8";

const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname === "/fn/gzip") {
    const body = gzipSync("compressed by the function");
    res.writeHead(200, { "content-encoding": "gzip", "content-length": body.length, "content-type": "text/plain" });
    res.end(body);
    return;
  }
  if (url.pathname === "/fn/upload") {
    let size = 0;
    let sum = 0;
    for await (const chunk of req) { size += chunk.length; for (const b of chunk) sum = (sum + b) % 65521; }
    res.setHeader("set-cookie", ["a=1", "b=2"]);
    res.end(JSON.stringify({ size, sum, url: req.url, host: req.headers.host, te: req.headers["transfer-encoding"] ?? null, raw: req.rawHeaders.filter((h, i) => i % 2 === 0) }));
    return;
  }
  if (url.pathname === "/fn/address") {
    res.end(JSON.stringify(server.address()));
    return;
  }
  if (url.pathname === "/fn/async-throw") {
    await new Promise((r) => setTimeout(r, 5));
    throw new Error("async listener failed");
  }
  res.statusCode = 404;
  res.end("no route");
});

const wss = new WebSocketServer({ noServer: true });
server.on("upgrade", (req, socket, head) => {
  console.log("upgrade for " + req.url);
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on("message", (m) => ws.send("node-echo:" + m + ":" + req.url));
  });
});

server.listen(4000);
`;

Deno.test({
  name: "node-listen: bytes pass untouched (gzip), uploads stream in, set-cookie stays split, no stray headers",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      const bundle = await buildSource("node-details", NODE_SERVER);
      assertEquals(await w.loadOk(bundle), "node-listen");

      // fetch() would decompress; read the raw bytes from the worker socket instead.
      const raw = await rawRequest(w.socket, "GET /fn/gzip HTTP/1.1\r\nhost: w\r\nconnection: close\r\n\r\n");
      assertMatch(raw, /^HTTP\/1\.1 200 /);
      assertMatch(raw, /\r\ncontent-encoding: gzip\r\n/i);
      const res = await w.invoke("/fn/gzip");
      assertEquals(await res.text(), "compressed by the function");

      const upload = new Uint8Array(1024 * 1024 + 7).map((_, i) => (i * 31) % 251);
      let sum = 0;
      for (const b of upload) sum = (sum + b) % 65521;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < upload.length; i += 65536) controller.enqueue(upload.slice(i, i + 65536));
          controller.close();
        },
      });
      const up = await w.invoke("/fn/upload?q=1", { method: "POST", body, headers: { "x-mine": "1" } });
      assertEquals(up.status, 200);
      assertEquals(up.headers.getSetCookie(), ["a=1", "b=2"]);
      const seen = await up.json();
      assertEquals([seen.size, seen.sum, seen.url, seen.host], [upload.length, sum, "/fn/upload?q=1", "fn.example.test"]);
      assertEquals(seen.raw.filter((h: string) => /^x-isola/i.test(h)), []);
      assert(seen.raw.includes("x-mine"), JSON.stringify(seen.raw));

      const address = await (await w.invoke("/fn/address")).json();
      assertEquals(address.port, 4000);
    }),
});

Deno.test({
  name: "node-listen: a listener that rejects is a FUNCTION_ERROR logged for the invocation",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await buildSource("node-details", NODE_SERVER));
      const res = await w.invoke("/fn/async-throw", { envelope: { "x-isola-invocation-id": "na-1" } });
      assertEquals(res.status, 500);
      assertEquals(res.headers.get("x-isola-error"), "FUNCTION_ERROR");
      assertEquals((await res.json()).error.message, "async listener failed");
      await w.waitForLog((l) => l.inv === "na-1" && l.msg.includes("async listener failed"));
      assertEquals((await w.invoke("/fn/nope")).status, 404);
    }),
});

Deno.test({
  name: "node-listen: WebSocket upgrades reach the node server's 'upgrade' handler (npm:ws)",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      await w.loadOk(await buildSource("node-details", NODE_SERVER));
      const { replies } = await wsExchange(w, "/fn/socket?room=1", ["x", "y"]);
      assertEquals(replies, ["node-echo:x:/fn/socket?room=1", "node-echo:y:/fn/socket?room=1"]);
      assertEquals((await w.waitForLog((l) => l.msg === "upgrade for /fn/socket?room=1")).inv, "ws-1");
    }),
});

Deno.test({
  name: "node-listen: Fastify (await app.listen at top level) is served, its own errors pass through",
  ...PROCESS_TEST,
  fn: () =>
    withWorker(async (w) => {
      const bundle = await buildSource("fastify", `
        import Fastify from "npm:fastify@5";
        const app = Fastify({ logger: false });
        app.get("/fn/hi", async (req) => ({ hi: req.query, url: req.url }));
        app.get("/fn/boom", async () => { throw new Error("fastify boom"); });
        await app.listen({ port: 3000 });
      `);
      assertEquals(await w.loadOk(bundle), "node-listen");
      const res = await w.invoke("/fn/hi?a=1");
      assertEquals(await res.json(), { hi: { a: "1" }, url: "/fn/hi?a=1" });
      const boom = await w.invoke("/fn/boom");
      assertEquals(boom.status, 500);
      assertEquals(boom.headers.get("x-isola-error"), null);
      assertEquals((await boom.json()).message, "fastify boom");
    }),
});

// ctx.realtime (docs/triggers.md): every shape that gets a context has it; the host calls need the
// invocation's capability, so without one (no host here) a call is refused before leaving the worker.
const REALTIME_PROBE = `
async function probe(realtime) {
  let refused = null;
  try {
    await realtime.send("0".repeat(32), { hello: 1 });
  } catch (error) {
    refused = error.code;
  }
  return { send: typeof realtime.send, broadcast: typeof realtime.broadcast, refused };
}
`;

for (
  const [shape, source, script] of [
    ["default-function", `export default async (req, ctx) => Response.json(await probe(ctx.realtime));`, false],
    ["deno-serve", `Deno.serve(async (req, info) => Response.json(await probe(info.realtime)));`, false],
    ["fetch-object", `export default { async fetch(req, env, ctx) { return Response.json(await probe(ctx.realtime)); } };`, false],
    ["script-handler", `async function handler(request, context) { return { statusCode: 200, body: await probe(context.realtime) }; }`, true],
  ] as const
) {
  Deno.test({
    name: `${shape}: ctx.realtime.send and broadcast are there and need the invocation's capability`,
    ...PROCESS_TEST,
    fn: () =>
      withWorker(async (w) => {
        const bundle = await buildSource(`realtime-${shape}`, REALTIME_PROBE + source, { script });
        assertEquals(await w.loadOk(bundle), shape);
        const res = await w.invoke("/fn/realtime");
        assertEquals(res.status, 200);
        assertEquals(await res.json(), { send: "function", broadcast: "function", refused: "NO_CAPABILITY" });
      }),
  });
}

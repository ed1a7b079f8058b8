// The function's request (runtime/src/deno-internals.ts), built from a real Deno.serve request on
// a Unix socket: what the function, fetch(), clone() and new Request(req) read of it, and its signal.
import { assert, assertEquals } from "./assert.ts";
import { abortFunctionRequest, functionRequest, receivedHeaders, responseHasHeader, setDenoInternals, usesDenoInternals } from "../src/deno-internals.ts";
import { PROCESS_TEST } from "./harness.ts";

Deno.test("the pinned Deno's own request pieces pass the runtime's probe (else every invocation takes the slow public path)", () => {
  assert(usesDenoInternals(), "function-request.ts fell back to the public Request API: Deno's internals changed");
});

/** Serves one request with `handle` on a Unix socket and returns what the client got. */
async function serveOnce(init: RequestInit, handle: (raw: Request) => Promise<Response>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "isola-rt-fr-" });
  const path = `${dir}/s.sock`;
  const server = Deno.serve({ path, onListen() {} }, handle);
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
  try {
    return await (await fetch("http://worker/p/a%20b?x=1&y=2", { ...init, client })).text();
  } finally {
    client.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Each test runs with Deno's pieces and with the public API (the fallback): both must behave alike. */
function bothWays(name: string, fn: () => Promise<void>): void {
  for (const internal of [true, false]) {
    Deno.test({
      name: `${name} (${internal ? "Deno's own pieces" : "public API"})`,
      ...PROCESS_TEST,
      fn: async () => {
        setDenoInternals(internal);
        try {
          await fn();
        } finally {
          setDenoInternals(true);
        }
      },
    });
  }
}

bothWays(
  "a Deno.serve request becomes the function's: its url, method, headers without the envelope, body, clones and copies",
  async () => {
    const seen: Record<string, unknown> = {};
    const answer = await serveOnce({
      method: "PUT",
      headers: { "x-isola-caller": "{}", "x-isola-invocation-id": "id-1", "x-custom": "one", "content-type": "text/plain" },
      body: "the body",
    }, async (raw) => {
      const headers = receivedHeaders(raw).filter(([name]) => !name.startsWith("x-isola-"));
      const request = functionRequest(raw, "https://fn.example.test/p/a%20b?x=1&y=2", headers);
      const clone = request.clone();
      seen.url = request.url;
      seen.method = request.method;
      seen.custom = request.headers.get("x-custom");
      seen.envelope = [...request.headers.keys()].filter((name) => name.startsWith("x-isola-"));
      seen.body = await request.text();
      seen.cloneBody = await clone.text();
      seen.cloneUrl = clone.url;
      request.headers.set("x-added", "1");
      const copy = new Request(request, { body: "other" });
      seen.copy = [copy.url, copy.method, copy.headers.get("x-added"), await copy.text()];
      seen.searchParams = new URL(request.url).searchParams.get("y");
      return new Response("ok");
    });
    assertEquals(answer, "ok");
    assertEquals(seen, {
      url: "https://fn.example.test/p/a%20b?x=1&y=2",
      method: "PUT",
      custom: "one",
      envelope: [],
      body: "the body",
      cloneBody: "the body",
      cloneUrl: "https://fn.example.test/p/a%20b?x=1&y=2",
      copy: ["https://fn.example.test/p/a%20b?x=1&y=2", "PUT", "1", "other"],
      searchParams: "2",
    });
  },
);

bothWays("abortFunctionRequest aborts the function's signal once, with its reason, and what follows it", async () => {
    const seen: unknown[] = [];
    await serveOnce({}, (raw) => {
      const request = functionRequest(raw, "https://fn.example.test/", receivedHeaders(raw));
      const follower = new Request(request);
      request.signal.addEventListener("abort", () => seen.push(request.signal.reason.name));
      abortFunctionRequest(request, new DOMException("late", "TimeoutError"));
      abortFunctionRequest(request, new DOMException("again", "AbortError"));
      seen.push(request.signal.aborted, follower.signal.aborted, follower.signal.reason.message);
      return Promise.resolve(new Response("ok"));
    });
    assertEquals(seen, ["TimeoutError", true, true, "late"]);
});

bothWays("responseHasHeader finds a header in any case, set at construction or later, and no other", () => {
  const own = new Response("x", { headers: { "X-Isola-Error": "BOOT_ERROR" } });
  const json = Response.json({ a: 1 });
  const later = Response.json({ a: 1 });
  later.headers.set("x-isola-error", "E");
  assertEquals(
    [responseHasHeader(own, "x-isola-error"), responseHasHeader(json, "x-isola-error"), responseHasHeader(json, "content-type"),
      responseHasHeader(later, "x-isola-error")],
    [true, false, true, true],
  );
  return Promise.resolve();
});

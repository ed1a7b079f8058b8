// Start-up timings of a worker for a hello function (not a test; prints medians):
//   deno run -A --no-config --no-lock runtime/test/measure-startup.ts [runs]
// ready:  process spawn → ISOLA_READY on stdout
// load:   POST /__isola/load round trip on a pre-started worker (its deferred set-up done)
// first:  first invocation round trip right after that load
// eager:  load sent the moment ISOLA_READY appears (pays for the deferred set-up)
import { buildSource, Worker } from "./harness.ts";

const runs = Number(Deno.args[0] ?? 9);
const HELLO = `export default async function handler(req) {
  return new Response(JSON.stringify({ message: "Hello!" }), { headers: { "Content-Type": "application/json" } });
}\n`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

const bundle = await buildSource("hello", HELLO);
// One unmeasured start so the transpile cache for bootstrap.ts is warm.
await (await Worker.start()).stop();

const ready: number[] = [];
const load: number[] = [];
const first: number[] = [];
const eager: number[] = [];
for (let i = 0; i < runs; i++) {
  const w = await Worker.start();
  try {
    ready.push(w.readyAt - w.started);
    await new Promise((resolve) => setTimeout(resolve, 300)); // Pre-started and idle.
    const [res, ms] = await timed(() => w.load(bundle, { name: "hello" }));
    if (res.status !== 200) throw new Error(await res.text());
    await res.body?.cancel();
    load.push(ms);
    const [call, callMs] = await timed(async () => {
      const r = await w.invoke("/hello");
      await r.text();
      return r;
    });
    if (call.status !== 200) throw new Error(`invocation answered ${call.status}`);
    first.push(callMs);
  } finally {
    await w.stop();
  }
  const e = await Worker.start();
  try {
    const [res, ms] = await timed(() => e.load(bundle, { name: "hello" }));
    await res.body?.cancel();
    eager.push(ms);
  } finally {
    await e.stop();
  }
}
const show = (values: number[]) => `median ${median(values).toFixed(1)} ms (min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)})`;
console.log(`runs: ${runs}`);
console.log(`spawn → ISOLA_READY:          ${show(ready)}`);
console.log(`load (pre-started worker):    ${show(load)}`);
console.log(`first request after load:     ${show(first)}`);
console.log(`load sent right at READY:     ${show(eager)}`);

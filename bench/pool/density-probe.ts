// Budgets P5 and P8 against a running node: deploys N functions (default 300), calls them round robin a few
// times with a bounded number of calls in flight, then, once the node idles, reads its workers
// (GET /v1/workers) and their memory from /proc, and the host's own resident memory (VmRSS of the node's
// pid, from its lock file; the embedded PostgreSQL runs as other processes and is not counted). Writes one JSON
// file; exits non-zero only for bad usage. --allow-all because Deno reads /proc/PID/status only with every permission.
//
//   deno run --allow-all density-probe.ts BASE_URL DATA_DIR OUT_JSON [functions=300] [rounds=2] [inFlight=8] [idleWaitSeconds=20]

const [baseUrl, dataDir, outFile, functionsArg, roundsArg, inFlightArg, idleWaitArg] = Deno.args;
const functionCount = Number(functionsArg ?? 300);
const rounds = Number(roundsArg ?? 2);
const inFlight = Number(inFlightArg ?? 8);
const idleWaitSeconds = Number(idleWaitArg ?? 20);
if (!baseUrl || !dataDir || !outFile || !(functionCount > 0) || !(rounds > 0) || !(inFlight > 0) || !(idleWaitSeconds >= 0)) {
  console.error("usage: density-probe.ts BASE_URL DATA_DIR OUT_JSON [functions] [rounds] [inFlight] [idleWaitSeconds]");
  Deno.exit(2);
}
const adminKey = (await Deno.readTextFile(`${dataDir}/admin.key`)).trim();
const hostPid = Number((await Deno.readTextFile(`${dataDir}/isola.lock`)).split("\n")[0]);
const auth = { Authorization: `Bearer ${adminKey}` };
const runId = Date.now().toString(36);

/** Resident memory of a process from /proc/PID/status and its proportional share (Pss, shared pages divided among their users). */
async function memoryOf(pid: number): Promise<{ rss: number; anon: number; pss: number | null } | null> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    let pss: number | null = null;
    try {
      pss = Number(/^Pss:\s+(\d+) kB/m.exec(await Deno.readTextFile(`/proc/${pid}/smaps_rollup`))?.[1] ?? NaN) * 1024;
    } catch {
      // smaps_rollup needs Linux 4.14+ and the right to read it.
    }
    return { rss: field("VmRSS"), anon: field("RssAnon"), pss };
  } catch {
    return null;
  }
}

/** Runs every task with at most `limit` at once. */
async function bounded<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      await task(items[next++]);
    }
  }));
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

const hostIdleBefore = await memoryOf(hostPid);
const names = Array.from({ length: functionCount }, (_, i) => `density-${runId}-${String(i).padStart(3, "0")}`);
const deployErrors: string[] = [];
const deployStarted = performance.now();
async function deploy(name: string): Promise<void> {
  const response = await fetch(`${baseUrl}/v1/default/functions`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ name, allowUnauthenticated: true, code: `export default () => Response.json({ name: ${JSON.stringify(name)} });` }),
  });
  const text = await response.text();
  if (response.status !== 201) deployErrors.push(`${name}: ${response.status} ${text.slice(0, 200)}`);
}
// The first alone: on a fresh node concurrent first builds have failed copying the bundler into the empty
// build cache (BUILD_FAILED "failed to copy esbuild binary"); density is measured here, not that.
await deploy(names[0]);
await bounded(names.slice(1), 4, deploy);
const deploySeconds = (performance.now() - deployStarted) / 1000;

// Round robin: call i goes to function i mod N, so with more functions than the node keeps workers for,
// every call after the first round finds its worker evicted (the worst case for the node's LRU).
const calls = Array.from({ length: functionCount * rounds }, (_, i) => names[i % functionCount]);
const errors: Record<string, number> = {};
const errorSamples: string[] = [];
const callMs: number[] = [];
const callsStarted = performance.now();
await bounded(calls, inFlight, async (name) => {
  const started = performance.now();
  try {
    const response = await fetch(`${baseUrl}/v1/default/fn/${name}`);
    const text = await response.text();
    callMs.push(performance.now() - started);
    if (response.status !== 200 || !text.includes(name)) {
      errors[String(response.status)] = (errors[String(response.status)] ?? 0) + 1;
      if (errorSamples.length < 5) errorSamples.push(`${name}: ${response.status} ${text.slice(0, 200)}`);
    }
  } catch (error) {
    errors.network = (errors.network ?? 0) + 1;
    if (errorSamples.length < 5) errorSamples.push(`${name}: ${error}`);
  }
});
const callSeconds = (performance.now() - callsStarted) / 1000;

// Idle: let in-flight work and invocation-record writes settle before reading memory.
await new Promise((resolve) => setTimeout(resolve, 3000));
const listing = await (await fetch(`${baseUrl}/v1/workers`, { headers: auth })).json();
const workerMemory = (await Promise.all((listing.workers as { pid: number }[]).map((w) => memoryOf(w.pid)))).filter((m) => m !== null);
const hostAfterCalls = await memoryOf(hostPid);
// P8 is the host idle: a node that has had no work for a while returns its free memory to the OS
// (ISOLA_IDLE_TRIM_AFTER, 10 s by default; decision 031). Read again once that has had time to happen.
await new Promise((resolve) => setTimeout(resolve, idleWaitSeconds * 1000));
const hostIdleAfter = await memoryOf(hostPid);
const workersIdleAfter = (await (await fetch(`${baseUrl}/v1/workers`, { headers: auth })).json()).count;

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const result = {
  functions: functionCount,
  rounds,
  inFlight,
  deploySeconds,
  deployErrors: deployErrors.length,
  deployErrorSamples: deployErrors.slice(0, 5),
  calls: calls.length,
  callSeconds,
  callsPerSecond: calls.length / callSeconds,
  callP50Ms: median(callMs),
  errors: sum(Object.values(errors)),
  errorsByStatus: errors,
  errorSamples,
  workers: listing.count,
  maxWorkers: listing.max,
  evicted: listing.evicted,
  workerRssBytes: { sum: sum(workerMemory.map((m) => m.rss)), median: median(workerMemory.map((m) => m.rss)) },
  workerAnonBytes: { sum: sum(workerMemory.map((m) => m.anon)), median: median(workerMemory.map((m) => m.anon)) },
  workerPssBytes: workerMemory.every((m) => m.pss !== null)
    ? { sum: sum(workerMemory.map((m) => m.pss!)), median: median(workerMemory.map((m) => m.pss!)) }
    : null,
  idleWaitSeconds,
  workersIdleAfter,
  hostRssBytes: { idleBefore: hostIdleBefore?.rss ?? null, afterCalls: hostAfterCalls?.rss ?? null, idleAfter: hostIdleAfter?.rss ?? null },
  hostAnonBytes: { idleBefore: hostIdleBefore?.anon ?? null, afterCalls: hostAfterCalls?.anon ?? null, idleAfter: hostIdleAfter?.anon ?? null },
};
await Deno.writeTextFile(outFile, JSON.stringify(result, null, 2) + "\n");

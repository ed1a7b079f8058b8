// Measures what wrk cannot, through Isola's public API: cold start (P3), deploy time (P4), how late a
// cron run starts after its tick (P7, cron), event publish → handler start (P7, events) and sustained
// event delivery (P14). Started by bench/run; writes one JSON file and never exits non-zero for a
// measurement that went wrong (the report says what went wrong), only for bad usage.
//
//   deno run --allow-net=127.0.0.1 --allow-read=KEY_FILE --allow-write=OUT_JSON isola-probe.ts \
//     cold-start|deploy-npm|cron-delay|event-latency|event-throughput BASE_URL KEY_FILE OUT_JSON N RUN_ID [call]
//
// cron-delay deploys a cron function ticking every second and collects N runs: each logs how many
// milliseconds after its tick (ctx.trigger.scheduledAt) its code started, by the worker's clock.
//
// With "call", deploy-npm also calls each function after its 201 and reports when it first
// answered 200 (budget P4's "→ ready", docs/features.md); bench/run passes it only when the gateway serves functions.

interface ColdStartSample {
  name: string;
  /** POST sent → 201 headers received. */
  deployMs: number;
  /** 201 headers received → headers of the first 200 answer of the function, through the gateway. */
  coldStartMs: number | null;
  /** Function calls made until the first 200 (1 when the first call already answered 200). */
  calls: number;
  /** Non-200 answers seen before the first 200, by status. */
  notReady: Record<string, number>;
  error?: string;
}

interface CronDelayResult {
  /** Per run, in tick order: its code's start minus its tick, in ms (the first run includes the worker's start). */
  delaysMs: number[];
  error?: string;
}

interface DeploySample {
  name: string;
  /** POST sent → 201 headers received. */
  deployMs: number;
  /** POST sent → headers of the function's first 200 answer (only with "call"). */
  readyMs?: number | null;
  status: number;
  error?: string;
}

const COLD_START_TIMEOUT_MS = 15_000; // per function: 201 received → give up waiting for a 200
const RETRY_INTERVAL_MS = 2; // between calls that did not answer 200 yet
const SETTLE_MS = 500; // between two cold starts, so pre-started workers can be replenished

const [command, baseUrl, keyFile, outFile, countArg, runId, callArg] = Deno.args;
const callAfterDeploy = callArg === "call";
const count = Number(countArg);
if (!["cold-start", "deploy-npm", "cron-delay", "event-latency", "event-throughput"].includes(command) || !baseUrl || !keyFile || !outFile || !(count > 0) || !runId) {
  console.error("usage: isola-probe.ts cold-start|deploy-npm|cron-delay|event-latency|event-throughput BASE_URL KEY_FILE OUT_JSON N RUN_ID");
  Deno.exit(2);
}
const adminKey = (await Deno.readTextFile(keyFile)).trim();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function short(text: string): string {
  return text.length > 300 ? text.slice(0, 300) + "…" : text;
}

/** POSTs a function; resolves when the answer's headers arrive (the body is read afterwards). */
async function deploy(
  name: string,
  code: string,
  extra: Record<string, unknown> = {},
): Promise<{ status: number; sent: number; headersAt: number; ms: number; body: string }> {
  const sent = performance.now();
  const response = await fetch(`${baseUrl}/v1/default/functions`, {
    method: "POST",
    headers: { "Authorization": `Bearer ${adminKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name, code, allowUnauthenticated: true, ...extra }),
  });
  const headersAt = performance.now();
  const body = await response.text();
  return { status: response.status, sent, headersAt, ms: headersAt - sent, body };
}

/** Calls a function until it answers 200 (or COLD_START_TIMEOUT_MS after `since` passes). */
async function firstOk(
  name: string,
  since: number,
  notReady: Record<string, number>,
): Promise<{ calls: number; answeredAt: number; body: string; error?: string }> {
  for (let calls = 1;; calls++) {
    const response = await fetch(`${baseUrl}/v1/default/fn/${name}`);
    const answeredAt = performance.now();
    const body = await response.text();
    if (response.status === 200) return { calls, answeredAt, body };
    notReady[response.status] = (notReady[response.status] ?? 0) + 1;
    if (answeredAt - since > COLD_START_TIMEOUT_MS) {
      return {
        calls,
        answeredAt,
        body,
        error: `no 200 within ${COLD_START_TIMEOUT_MS} ms; last answer ${response.status}: ${short(body)}`,
      };
    }
    await sleep(RETRY_INTERVAL_MS);
  }
}

async function coldStart(): Promise<{ samples: ColdStartSample[] }> {
  const samples: ColdStartSample[] = [];
  for (let i = 0; i < count; i++) {
    const name = `cold-${runId}-${i}`;
    // A unique body too, so no build or module cache can serve it from an earlier function.
    const marker = `cold ${runId} ${i} ${crypto.randomUUID()}`;
    const code = `export default () => Response.json({ message: ${JSON.stringify(marker)} });\n`;
    const sample: ColdStartSample = { name, deployMs: NaN, coldStartMs: null, calls: 0, notReady: {} };
    samples.push(sample);
    try {
      const deployed = await deploy(name, code);
      sample.deployMs = deployed.ms;
      if (deployed.status !== 201) {
        sample.error = `deploy answered ${deployed.status}: ${short(deployed.body)}`;
      } else {
        const first = await firstOk(name, deployed.headersAt, sample.notReady);
        sample.calls = first.calls;
        if (first.error) {
          sample.error = first.error;
        } else if (!first.body.includes(marker)) {
          sample.error = `the first 200 did not come from this function's code: ${short(first.body)}`;
        } else {
          sample.coldStartMs = first.answeredAt - deployed.headersAt;
        }
      }
    } catch (error) {
      sample.error = `request failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    console.error(`  cold start ${i + 1}/${count}: ${sample.error ?? `${sample.coldStartMs!.toFixed(1)} ms (${sample.calls} call(s))`}`);
    await sleep(SETTLE_MS);
  }
  return { samples };
}

function npmFunction(i: number): string {
  return `import isNumber from "npm:is-number@7.0.0";

export default (_request: Request): Response => Response.json({ isNumber: isNumber(${i}), n: ${i} });
`;
}

async function deployNpm(): Promise<{ warm: DeploySample; samples: DeploySample[] }> {
  const run = async (name: string, i: number): Promise<DeploySample> => {
    try {
      const deployed = await deploy(name, npmFunction(i));
      if (deployed.status !== 201) {
        return {
          name,
          deployMs: deployed.ms,
          status: deployed.status,
          error: `deploy answered ${deployed.status}: ${short(deployed.body)}`,
        };
      }
      const sample: DeploySample = { name, deployMs: deployed.ms, status: deployed.status };
      if (callAfterDeploy) {
        // Informational (no budget): a failure here is reported but does not void the deploy time.
        const first = await firstOk(name, deployed.headersAt, {});
        sample.readyMs = first.error ? null : first.answeredAt - deployed.sent;
        if (first.error) console.error(`  ${name} never answered 200: ${first.error}`);
      }
      return sample;
    } catch (error) {
      return { name, deployMs: NaN, status: 0, error: `request failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  };
  // The first deploy downloads is-number into the node's cache; it is reported, not counted.
  const warm = await run(`npm-${runId}-warm`, -1);
  console.error(`  npm deploy (cache warm-up): ${warm.error ?? `${warm.deployMs.toFixed(0)} ms`}`);
  const samples: DeploySample[] = [];
  if (!warm.error) {
    for (let i = 0; i < count; i++) {
      const sample = await run(`npm-${runId}-${i}`, i);
      samples.push(sample);
      const ready = typeof sample.readyMs === "number" ? `, first 200 after ${sample.readyMs.toFixed(0)} ms` : "";
      console.error(`  npm deploy ${i + 1}/${count}: ${sample.error ?? `${sample.deployMs.toFixed(0)} ms${ready}`}`);
    }
  }
  return { warm, samples };
}

const CRON_CODE = `export default (req, ctx) => {
  console.log("cron-delay", Date.now() - Date.parse(ctx.trigger.scheduledAt));
  return new Response("ok");
};
`;

async function cronDelay(): Promise<CronDelayResult> {
  const name = `cron-${runId}`;
  const headers = { "Authorization": `Bearer ${adminKey}` };
  const result: CronDelayResult = { delaysMs: [] };
  try {
    const deployed = await deploy(name, CRON_CODE, { trigger: { type: "cron", config: { schedule: "* * * * * *" } } });
    if (deployed.status !== 201) return { delaysMs: [], error: `deploy answered ${deployed.status}: ${short(deployed.body)}` };
    // One run a second; records land a moment after each run.
    const deadline = performance.now() + (count + 15) * 1000;
    while (result.delaysMs.length < count && performance.now() < deadline) {
      await sleep(1000);
      const response = await fetch(`${baseUrl}/v1/default/functions/${name}/logs?limit=${count + 5}`, { headers });
      const page = await response.json() as { invocations?: { startedAt: string; logs: { msg: string }[] }[] };
      result.delaysMs = (page.invocations ?? [])
        .toSorted((a, b) => a.startedAt.localeCompare(b.startedAt))
        .flatMap((invocation) => invocation.logs)
        .map((line) => /^cron-delay (-?\d+)$/.exec(line.msg))
        .filter((match) => match !== null)
        .map((match) => Number(match![1]))
        .slice(0, count);
    }
    if (result.delaysMs.length < count) result.error = `only ${result.delaysMs.length} of ${count} runs were recorded in time`;
  } catch (error) {
    result.error = `request failed: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    await fetch(`${baseUrl}/v1/default/functions/${name}`, { method: "DELETE", headers }).then((r) => r.body?.cancel()).catch(() => {});
  }
  console.error(`  cron: ${result.delaysMs.length} runs, start after the tick: ${result.delaysMs.join(" ")} ms${result.error ? `; ${result.error}` : ""}`);
  return result;
}

// ---- events (P7, P14) ---------------------------------------------------------------------------

/** Wall-clock epoch milliseconds with sub-millisecond resolution, comparable across processes of one machine. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { "Authorization": `Bearer ${adminKey}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: the caller reports the text.
  }
  return { status: response.status, json, text };
}

async function deployEventFunction(name: string, eventName: string, code: string): Promise<string | null> {
  const deployed = await api("POST", "/v1/default/functions", { name, code, triggers: [{ type: "event", eventName }] });
  return deployed.status === 201 ? null : `deploy of ${name} answered ${deployed.status}: ${short(deployed.text)}`;
}

async function publish(name: string, data: unknown, id?: string): Promise<string | null> {
  const published = await api("POST", "/v1/default/events", { name, data, id });
  return published.status === 202 ? null : `publish answered ${published.status}: ${short(published.text)}`;
}

interface EventLatencySample {
  /** POST /events sent → the handler's first statement, by the machine's wall clock. */
  startMs: number | null;
  error?: string;
}

/**
 * P7: one event at a time, published through the API to a function that records when its handler
 * started (performance.timeOrigin + performance.now(), as the probe times the publish).
 */
async function eventLatency(): Promise<{ samples: EventLatencySample[]; error?: string }> {
  const table = await api("POST", "/v1/default/db/migrations", {
    name: `bench_event_starts_${runId}`,
    sql: "create table if not exists bench_event_starts (id text primary key, started_ms float8 not null)",
  });
  if (table.status !== 201 && table.status !== 200) return { samples: [], error: `migration answered ${table.status}: ${short(table.text)}` };
  const eventName = `bench.latency.${runId}`;
  const deployError = await deployEventFunction(`ev-start-${runId}`, eventName, `export default async (req, ctx) => {
  const started = performance.timeOrigin + performance.now();
  await ctx.db.query("insert into bench_event_starts (id, started_ms) values ($1, $2)", [ctx.trigger.id, started]);
  return new Response(null, { status: 204 });
};`);
  if (deployError) return { samples: [], error: deployError };
  const startedOf = async (id: string): Promise<number | null> => {
    const found = await api("POST", "/v1/default/db/query", { sql: "select started_ms from bench_event_starts where id = $1", params: [id] });
    const rows = (found.json as { rows?: { started_ms: number }[] } | null)?.rows ?? [];
    return rows.length > 0 ? rows[0].started_ms : null;
  };
  const samples: EventLatencySample[] = [];
  // The first events start the function's worker: run them, do not count them.
  for (let i = -5; i < count; i++) {
    const id = `lat-${runId}-${i}`;
    const sent = nowMs();
    const error = await publish(eventName, { i }, id);
    let started: number | null = null;
    for (let polls = 0; !error && started === null && polls < 1000; polls++) {
      await sleep(polls === 0 ? 20 : 5); // the first look after the delivery is surely over: polling must not slow it
      started = await startedOf(id);
    }
    if (i < 0) continue;
    samples.push(error || started === null ? { startMs: null, error: error ?? "the handler never recorded its start" } : { startMs: started - sent });
    await sleep(10);
  }
  return { samples };
}

interface EventThroughputResult {
  events: number;
  /** API publishing, 16 concurrent clients: first publish sent → last publish answered. */
  publishMs: number | null;
  /** A backlog of `events` made ready at once (one COMMIT) → the end of the last delivery's invocation. */
  deliverMs: number | null;
  error?: string;
}

/**
 * P14: events/s delivered to a no-op function. Publishing over HTTP (one statement, fsync'd, per event) would
 * bound the figure, so the backlog is made ready at once: a function emits them all inside one transaction, and
 * its COMMIT releases them together (decision 018). How fast the API publishes is reported beside it.
 */
async function eventThroughput(): Promise<EventThroughputResult> {
  const eventName = `bench.noop.${runId}`;
  const fn = `ev-noop-${runId}`;
  const burst = `ev-burst-${runId}`;
  const fail = (error: string, publishMs: number | null = null): EventThroughputResult => ({ events: count, publishMs, deliverMs: null, error });
  const deployError = await deployEventFunction(fn, eventName, "export default () => new Response(null, { status: 204 });");
  if (deployError) return fail(deployError);
  const burstDeploy = await api("POST", "/v1/default/functions", {
    name: burst,
    timeoutMs: 300_000,
    code: `export default async (req, ctx) => {
  const { name, count } = await req.json();
  let next = 0;
  await ctx.db.transaction(() => Promise.all(Array.from({ length: 8 }, async () => {
    while (next < count) await ctx.events.emit(name, { n: next++ });
  })));
  return Response.json({ committedAt: performance.timeOrigin + performance.now() });
};`,
  });
  if (burstDeploy.status !== 201) return fail(`deploy of ${burst} answered ${burstDeploy.status}: ${short(burstDeploy.text)}`);
  const invocations = async (): Promise<number> => {
    const stats = await api("GET", `/v1/default/functions/${fn}/stats`);
    return (stats.json as { invocations?: number } | null)?.invocations ?? 0;
  };
  const waitFor = async (total: number, timeoutMs: number): Promise<boolean> => {
    const until = nowMs() + timeoutMs;
    while (nowMs() < until) {
      if (await invocations() >= total) return true;
      await sleep(100);
    }
    return false;
  };
  /** When the newest delivery ended, from its record (records land in batches, after the fact). */
  const lastEnd = async (): Promise<number> => {
    const logs = await api("GET", `/v1/default/functions/${fn}/logs?limit=1`);
    const last = (logs.json as { invocations?: { startedAt: string; durationMs: number }[] } | null)?.invocations?.[0];
    return last ? Date.parse(last.startedAt) + last.durationMs : nowMs();
  };

  // Publishing over the API: also warms the no-op function's worker up.
  const started = nowMs();
  let next = 0;
  let failure: string | null = null;
  const publisher = async () => {
    while (next < count && failure === null) {
      next++;
      failure = await publish(eventName, { n: next }) ?? failure;
    }
  };
  await Promise.all(Array.from({ length: 16 }, publisher));
  const publishMs = nowMs() - started;
  if (failure) return fail(failure, publishMs);
  if (!await waitFor(count, 300_000)) return fail(`only ${await invocations()} of ${count} published events were delivered within 5 minutes`, publishMs);

  // The backlog, released by one COMMIT.
  const emitted = await api("POST", `/v1/default/fn/${burst}`, { name: eventName, count });
  const committedAt = (emitted.json as { committedAt?: number } | null)?.committedAt;
  if (emitted.status !== 200 || typeof committedAt !== "number") return fail(`${burst} answered ${emitted.status}: ${short(emitted.text)}`, publishMs);
  if (!await waitFor(2 * count, 300_000)) return fail(`only ${await invocations() - count} of ${count} emitted events were delivered within 5 minutes`, publishMs);
  return { events: count, publishMs, deliverMs: await lastEnd() - committedAt };
}

const result = command === "cold-start"
  ? await coldStart()
  : command === "cron-delay"
  ? await cronDelay()
  : command === "event-latency"
  ? await eventLatency()
  : command === "event-throughput"
  ? await eventThroughput()
  : await deployNpm();
await Deno.writeTextFile(outFile, JSON.stringify(result, null, 2) + "\n");

// Measures what wrk cannot: cold start (P3), deploy time (P4) and how late a cron run starts after its
// tick (P7, cron), through Isola's public API.
// Started by bench/run; writes one JSON file and never exits non-zero for a measurement that
// went wrong (the report says what went wrong), only for bad usage.
//
//   deno run --allow-net=127.0.0.1 --allow-read=KEY_FILE --allow-write=OUT_JSON isola-probe.ts \
//     cold-start|deploy-npm|cron-delay BASE_URL KEY_FILE OUT_JSON N RUN_ID [call]
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
if (!["cold-start", "deploy-npm", "cron-delay"].includes(command) || !baseUrl || !keyFile || !outFile || !(count > 0) || !runId) {
  console.error("usage: isola-probe.ts cold-start|deploy-npm|cron-delay BASE_URL KEY_FILE OUT_JSON N RUN_ID");
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

const result = command === "cold-start" ? await coldStart() : command === "cron-delay" ? await cronDelay() : await deployNpm();
await Deno.writeTextFile(outFile, JSON.stringify(result, null, 2) + "\n");

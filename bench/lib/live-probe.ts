// Live queries (P12): CLIENTS WebSockets subscribe to one typed query (same arguments, same caller: one shared
// group), then WRITES mutations, one at a time, each change the row the query reads; for every write it times, at
// every client, the write's request sent → the new result frame received (an upper bound of commit → push: it
// includes the mutation's own run). Then the fan-out case: CLIENTS subscriptions to CLIENTS different rows of the
// same table, so each write runs every one of them again and one value changes. Last, what the change trigger
// costs a write: single-row insert statements into a table with the trigger and into its twin without, timed in
// the database (a DO block), and per committed transaction (over /db/query, median of each, alternating). Started
// by bench/run:
//
//   deno run --allow-net=127.0.0.1 --allow-read=KEY_FILE --allow-write=OUT_JSON live-probe.ts \
//     BASE_URL KEY_FILE OUT_JSON [CLIENTS=100] [WRITES=30]
//
// Never exits non-zero for a measurement that went wrong (the JSON's "error" says what), only for bad usage.

interface Latency {
  samples: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

interface Result {
  clients: number;
  writes: number;
  /** write sent → result frame, over every client and write, one shared query. */
  shared: Latency | null;
  /** the mutation's own round trip (sent → answered), for comparison. */
  mutation: Latency | null;
  /** write sent → the one changed value's frame, while the write re-runs CLIENTS different queries. */
  fanOut: Latency | null;
  /** µs a single-row insert statement costs more on a table with the change trigger (in the database). */
  triggerPerStatementUs: number | null;
  /** µs a committed one-row insert transaction costs more with the trigger (its NOTIFY at commit included). */
  triggerPerTransactionUs: number | null;
  error?: string;
}

const [baseUrl, keyFile, outFile, clientsArg = "100", writesArg = "30"] = Deno.args;
const clients = Number(clientsArg);
const writes = Number(writesArg);
if (!baseUrl || !keyFile || !outFile || !(clients > 0) || !(writes > 0)) {
  console.error("usage: live-probe.ts BASE_URL KEY_FILE OUT_JSON [CLIENTS] [WRITES]");
  Deno.exit(2);
}
const adminKey = (await Deno.readTextFile(keyFile)).trim();
const admin = { "Authorization": `Bearer ${adminKey}`, "Content-Type": "application/json" };
const result: Result = {
  clients, writes, shared: null, mutation: null, fanOut: null, triggerPerStatementUs: null, triggerPerTransactionUs: null,
};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function latency(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((q / 100) * sorted.length) - 1)];
  return { samples: sorted.length, p50Ms: at(50), p99Ms: at(99), maxMs: sorted.at(-1) ?? null };
}

async function post(path: string, body: unknown, headers: Record<string, string> = admin): Promise<unknown> {
  const response = await fetch(`${baseUrl}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return text === "" ? null : JSON.parse(text);
}

async function deploy(name: string, code: string): Promise<void> {
  const response = await fetch(`${baseUrl}/v1/default/functions`, { method: "POST", headers: admin, body: JSON.stringify({ name, code }) });
  // 409: deployed by an earlier run against this node, with the same code.
  if (response.status !== 201 && response.status !== 409) throw new Error(`deploying ${name} answered ${response.status}: ${await response.text()}`);
  await response.body?.cancel();
}

/** A subscriber: the arrival time of each result frame, in order. */
class Subscriber {
  readonly arrivals: number[] = [];
  private waiters: (() => void)[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      const frame = JSON.parse(String(e.data)) as { type: string };
      if (frame.type !== "result") return;
      this.arrivals.push(performance.now());
      this.waiters.shift()?.();
    };
  }

  static async open(url: string, args: Record<string, unknown>): Promise<Subscriber> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.onmessage = () => resolve(); // "connected"
      ws.onerror = () => reject(new Error("the WebSocket failed to open"));
    });
    const subscriber = new Subscriber(ws);
    const first = subscriber.next();
    ws.send(JSON.stringify({ type: "subscribe", id: "live", fn: "live-get", args }));
    await first;
    return subscriber;
  }

  /** Resolves when the next result frame arrives. */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.ws.close(1000, "done");
  }
}

async function timeWrites(subscribers: Subscriber[], id: number, into: number[], mutation: number[]): Promise<void> {
  for (let w = 1; w <= writes; w++) {
    const arrived = subscribers.map((s) => s.next());
    const sent = performance.now();
    await post("/v1/default/api/fn/live-set", { id, value: Date.now() * 1000 + w }, { "Content-Type": "application/json" });
    mutation.push(performance.now() - sent);
    await Promise.all(arrived);
    for (const s of subscribers) into.push(s.arrivals.at(-1)! - sent);
    await sleep(100);
  }
}

/** Milliseconds /db/query takes for `sql`. */
async function timeSql(sql: string): Promise<number> {
  const started = performance.now();
  await post("/v1/default/db/query", { sql });
  return performance.now() - started;
}

async function run(): Promise<void> {
  await post("/v1/default/db/migrations", {
    name: "bench_live",
    sql: "create table bench_live (id int primary key, value bigint not null default 0);\n" +
      "create table bench_live_plain (id int primary key, value bigint not null default 0);\n" +
      `insert into bench_live (id) select generate_series(1, ${Math.max(clients, 1)});`,
  });
  await deploy("live-get", 'import { query, v } from "@isola/functions";\n' +
    'export default query({ auth: "public", args: { id: v.int() }, handler: (ctx, args) => ctx.db.get("bench_live", args.id) });');
  await deploy("live-set", 'import { mutation, v } from "@isola/functions";\n' +
    'export default mutation({ auth: "public", args: { id: v.int(), value: v.int() },\n' +
    '  handler: async (ctx, args) => { await ctx.db.update("bench_live", args.id, { value: args.value }); return null; } });');
  const auth = await (await fetch(`${baseUrl}/v1/apps/default/auth`, { headers: admin })).json() as { anonKey: string };
  const url = `${baseUrl.replace(/^http/, "ws")}/v1/default/realtime?apikey=${auth.anonKey}`;

  // One shared query, CLIENTS subscribers.
  const shared: Subscriber[] = [];
  for (let i = 0; i < clients; i++) shared.push(await Subscriber.open(url, { id: 1 }));
  await timeWrites(shared.slice(0, 1), 1, [], []); // warm-up: workers, the trigger (added at the first run) and pools
  const sharedSamples: number[] = [];
  const mutationSamples: number[] = [];
  await timeWrites(shared, 1, sharedSamples, mutationSamples);
  result.shared = latency(sharedSamples);
  result.mutation = latency(mutationSamples);
  for (const s of shared) s.close();

  // CLIENTS different queries on one table: every write runs them all; one value changes.
  const distinct: Subscriber[] = [];
  for (let i = 1; i <= clients; i++) distinct.push(await Subscriber.open(url, { id: i }));
  const fanOutSamples: number[] = [];
  await timeWrites(distinct.slice(0, 1), 1, fanOutSamples, []);
  result.fanOut = latency(fanOutSamples);
  for (const s of distinct) s.close();

  // The trigger's cost per write: bench_live has it now (a live query read it), bench_live_plain is its twin.
  const statements = 20000;
  const loop = (table: string) =>
    `do $$ begin for i in 1..${statements} loop insert into ${table} (id) values (1000000 + i); end loop; ` +
    `delete from ${table} where id > 1000000; end $$`;
  await timeSql(loop("bench_live_plain"));
  const plainLoops: number[] = [];
  const trackedLoops: number[] = [];
  for (let round = 0; round < 5; round++) {
    // Alternating, so drift on a shared machine hits both tables alike.
    plainLoops.push(await timeSql(loop("bench_live_plain")));
    trackedLoops.push(await timeSql(loop("bench_live")));
  }
  const middle = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  result.triggerPerStatementUs = ((middle(trackedLoops) - middle(plainLoops)) * 1000) / statements;
  // One committed transaction per call, the two tables alternating so that drift on a shared machine hits both.
  const transactions = 300;
  const plainTx: number[] = [];
  const trackedTx: number[] = [];
  const timeInsert = async (table: string, id: number) => {
    const started = performance.now();
    await post("/v1/default/db/query", { sql: `insert into ${table} (id) values (${id})` });
    return performance.now() - started;
  };
  for (let i = 1; i <= transactions; i++) {
    plainTx.push(await timeInsert("bench_live_plain", 2000000 + i));
    trackedTx.push(await timeInsert("bench_live", 2000000 + i));
  }
  for (const table of ["bench_live_plain", "bench_live"]) await post("/v1/default/db/query", { sql: `delete from ${table} where id > 1000000` });
  result.triggerPerTransactionUs = (middle(trackedTx) - middle(plainTx)) * 1000;
}

try {
  await run();
} catch (error) {
  result.error = error instanceof Error ? error.message : String(error);
}
await Deno.writeTextFile(outFile, JSON.stringify(result, null, 2) + "\n");
const ms = (value: number | null | undefined) => value === null || value === undefined ? "n/a" : value.toFixed(2) + " ms";
console.error(result.error
  ? `  live probe failed: ${result.error}`
  : `  live query push at ${clients} subscribers (one query): p50 ${ms(result.shared?.p50Ms)}, p99 ${ms(result.shared?.p99Ms)}; ` +
    `mutation p50 ${ms(result.mutation?.p50Ms)}; ${clients} queries re-run per write: p50 ${ms(result.fanOut?.p50Ms)}; ` +
    `trigger +${result.triggerPerStatementUs?.toFixed(1)} µs/statement, +${result.triggerPerTransactionUs?.toFixed(0)} µs/transaction`);
Deno.exit(0);

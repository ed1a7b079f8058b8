// Turns one bench/run's raw figures into bench/results/latest.json, one verdict line per budget
// (the budgets of docs/features.md) and a markdown table for the README.
//
//   deno run --allow-read --allow-write=OUT_JSON --allow-env report.ts WORK_DIR OUT_JSON
//
// WORK_DIR holds runs.jsonl (one line per wrk run, written by bench/run) and, when Isola could be
// probed, cold-start.json and deploy-npm.json (written by isola-probe.ts). Everything else comes
// from BENCH_* environment variables set by bench/run.
// Exit code: 0 every budget measured and passed, 2 a budget failed, 1 a budget could not be measured.

interface WrkFigures {
  requests: number;
  duration_us: number;
  bytes: number;
  rps: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: { min: number; mean: number; stdev: number; max: number; p50: number; p75: number; p90: number; p99: number; p999: number };
}

interface WrkRun {
  target: Target;
  mode: "warmup" | "throughput" | "latency";
  round: number;
  threads: number;
  connections: number;
  durationS: number;
  url: string;
  rawFile: string;
  wrk: WrkFigures | null;
  /** Throughput runs: CPU ticks each process role of the target used during the run (from /proc/<pid>/stat). */
  cpu?: { clkTck: number; ticks: Record<string, number> } | null;
  raw?: string;
}

type Target = "isola" | "isola-jwt" | "isola-db" | "isola-pk" | "isola-typed" | "csharp-hop" | "hop-direct" | "hop-db" | "deno" | "workerd";
type Verdict = "PASS" | "FAIL" | "SKIP";

interface Budget {
  id: string;
  what: string;
  unit: string;
  isola: number | null;
  baseline: number | null;
  /** isola / baseline for ratios, isola − baseline for differences, null for plain limits. */
  compared: number | null;
  budget: string;
  verdict: Verdict;
  note: string;
}

const LABELS: Record<Target, string> = {
  "isola": "Isola (gateway → Deno worker)",
  "isola-jwt": "Isola, auth: user, with a user JWT",
  "isola-db": "Isola, a function running ctx.db select 1",
  "isola-pk": "Isola, a function running a primary-key select",
  "isola-typed": "Isola, a typed query running the same select (POST /api/fn)",
  "csharp-hop": "minimal C# hop → bare Deno (Unix socket)",
  "hop-direct": "C# hop answering itself (no forward)",
  "hop-db": "C# hop running select 1 with Npgsql",
  "deno": "bare Deno.serve",
  "workerd": "workerd (one process)",
};
const TARGETS: Target[] = ["isola", "isola-jwt", "isola-db", "isola-pk", "isola-typed", "csharp-hop", "hop-direct", "hop-db", "deno", "workerd"];
const ISOLA_TARGETS: Target[] = ["isola", "isola-jwt", "isola-db", "isola-pk"];

const [workDir, outFile] = Deno.args;
if (!workDir || !outFile) {
  console.error("usage: report.ts WORK_DIR OUT_JSON");
  Deno.exit(2);
}
const env = (name: string): string => Deno.env.get(name) ?? "";

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch {
    return null;
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile: with 10 samples p99 is the largest, as it should be for so few. */
function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((q / 100) * sorted.length))) - 1];
}

// ---- raw figures ------------------------------------------------------------------------------

const runs: WrkRun[] = [];
for (const line of (await readText(`${workDir}/runs.jsonl`)).split("\n")) {
  if (line.trim() === "") continue;
  const run = JSON.parse(line) as WrkRun;
  run.raw = await readText(run.rawFile);
  runs.push(run);
}

interface ServerSummary {
  label: string;
  measured: boolean;
  throughput: { medianRps: number | null; rps: number[]; errors: number; non2xx: number };
  latency: { medianP50Ms: number | null; medianP99Ms: number | null; p50Ms: number[]; p99Ms: number[]; errors: number; non2xx: number };
}

function summarize(target: Target): ServerSummary {
  const of = (mode: WrkRun["mode"]) => runs.filter((r) => r.target === target && r.mode === mode && r.wrk !== null).map((r) => r.wrk!);
  const errorsOf = (figures: WrkFigures[]) =>
    figures.reduce((sum, f) => sum + f.errors.connect + f.errors.read + f.errors.write + f.errors.timeout, 0);
  const non2xxOf = (figures: WrkFigures[]) => figures.reduce((sum, f) => sum + f.errors.status, 0);
  const throughput = of("throughput");
  const latency = of("latency");
  const p50 = latency.map((f) => f.latency_us.p50 / 1000);
  const p99 = latency.map((f) => f.latency_us.p99 / 1000);
  return {
    label: LABELS[target],
    measured: throughput.length > 0 || latency.length > 0,
    throughput: {
      medianRps: median(throughput.map((f) => f.rps)),
      rps: throughput.map((f) => f.rps),
      errors: errorsOf(throughput),
      non2xx: non2xxOf(throughput),
    },
    latency: {
      medianP50Ms: median(p50),
      medianP99Ms: median(p99),
      p50Ms: p50,
      p99Ms: p99,
      errors: errorsOf(latency),
      non2xx: non2xxOf(latency),
    },
  };
}

const servers = Object.fromEntries(TARGETS.map((t) => [t, summarize(t)])) as Record<Target, ServerSummary>;

/** µs of CPU per request by process role (median over the throughput runs), and their sum. */
interface CpuSummary {
  totalUs: number | null;
  roles: Record<string, number>;
  runs: number;
}
function cpuPerRequest(target: Target): CpuSummary {
  const measured = runs.filter((r) => r.target === target && r.mode === "throughput" && r.wrk && r.wrk.requests > 0 && r.cpu);
  const perRun = measured.map((r) =>
    Object.fromEntries(Object.entries(r.cpu!.ticks).map(([role, ticks]) => [role, (ticks * 1e6) / r.cpu!.clkTck / r.wrk!.requests]))
  );
  const roles: Record<string, number> = {};
  for (const role of new Set(perRun.flatMap((run) => Object.keys(run)))) roles[role] = median(perRun.map((run) => run[role] ?? 0))!;
  const totals = perRun.map((run) => Object.values(run).reduce((a, b) => a + b, 0));
  return { totalUs: median(totals), roles, runs: measured.length };
}
const CPU_TARGETS: Target[] = ["isola", "isola-pk", "isola-typed", "csharp-hop", "deno", "workerd"];
const cpu = Object.fromEntries(CPU_TARGETS.map((t) => [t, cpuPerRequest(t)])) as Record<string, CpuSummary>;

interface ColdStartFile {
  samples: {
    name: string;
    deployMs: number | null;
    coldStartMs: number | null;
    calls: number;
    notReady: Record<string, number>;
    error?: string;
  }[];
}
interface DeployFile {
  warm: { name: string; deployMs: number | null; readyMs?: number | null; status: number; error?: string };
  samples: { name: string; deployMs: number | null; readyMs?: number | null; status: number; error?: string }[];
}
interface EventLatencyFile {
  samples: { startMs: number | null; error?: string }[];
  error?: string;
}
interface EventThroughputFile {
  events: number;
  publishMs: number | null;
  deliverMs: number | null;
  error?: string;
}
interface CronDelayFile {
  delaysMs: number[];
  error?: string;
}
/** realtime.json, written by realtime-probe.ts. */
interface RealtimeFile {
  clients: number;
  seconds: number;
  ratePerClient: number;
  messages: number;
  messagesPerSecond: number | null;
  errors: Record<string, number>;
  p50Ms: number | null;
  p99Ms: number | null;
  error?: string;
}
/** live.json, written by live-probe.ts. */
interface LiveLatency {
  samples: number;
  p50Ms: number | null;
  p99Ms: number | null;
}
interface LiveFile {
  clients: number;
  writes: number;
  shared: LiveLatency | null;
  mutation: LiveLatency | null;
  fanOut: LiveLatency | null;
  triggerPerStatementUs: number | null;
  triggerPerTransactionUs: number | null;
  error?: string;
}
const live = await readJson<LiveFile>(`${workDir}/live.json`);
const coldStart = await readJson<ColdStartFile>(`${workDir}/cold-start.json`);
const cronDelay = await readJson<CronDelayFile>(`${workDir}/cron-delay.json`);
const deployNpm = await readJson<DeployFile>(`${workDir}/deploy-npm.json`);
const eventLatency = await readJson<EventLatencyFile>(`${workDir}/event-latency.json`);
const eventThroughput = await readJson<EventThroughputFile>(`${workDir}/event-throughput.json`);
const realtime = await readJson<RealtimeFile>(`${workDir}/realtime.json`);

// ---- budgets ----------------------------------------------------------------------------------

const isolaStatus = env("BENCH_ISOLA_STATUS") || "unavailable";
const isolaError = env("BENCH_ISOLA_ERROR") || "Isola was not measured";
const budgets: Budget[] = [];

/** Why an Isola load figure cannot be trusted, or null when it can. */
function loadProblem(target: Target, mode: "throughput" | "latency"): string | null {
  const s = servers[target];
  if (ISOLA_TARGETS.includes(target) && isolaStatus !== "ok") return isolaError;
  const part = mode === "throughput" ? s.throughput : s.latency;
  if (!s.measured || (mode === "throughput" ? s.throughput.medianRps : s.latency.medianP50Ms) === null) {
    return `${s.label} was not measured`;
  }
  if (part.non2xx > 0) return `${s.label} answered ${part.non2xx} non-2xx responses under load`;
  if (part.errors > 0) return `${s.label} had ${part.errors} socket errors/timeouts under load`;
  return null;
}

for (const [target, floor] of [["csharp-hop", 0.90], ["deno", 0.42], ["workerd", 1.6]] as [Target, number][]) {
  const problem = loadProblem("isola", "throughput") ?? loadProblem(target, "throughput");
  const isola = servers.isola.throughput.medianRps;
  const baseline = servers[target].throughput.medianRps;
  const ratio = problem === null && isola !== null && baseline ? isola / baseline : null;
  budgets.push({
    id: "P1",
    what: `throughput vs ${LABELS[target]}`,
    unit: "req/s",
    isola: problem ? null : isola,
    baseline,
    compared: ratio,
    budget: `>=${floor.toFixed(2)}`,
    verdict: ratio === null ? "SKIP" : ratio >= floor ? "PASS" : "FAIL",
    note: problem ?? `c=50, median of ${servers.isola.throughput.rps.length} runs`,
  });
}

/** A budget comparing Isola with a baseline: unmeasured (SKIP) when `problem` says why or `compared` is missing. */
function compareBudget(b: Omit<Budget, "verdict" | "note"> & { problem: string | null; passes: (compared: number) => boolean; note: string }): Budget {
  const { problem, passes, ...rest } = b;
  return {
    ...rest,
    isola: problem ? null : b.isola,
    compared: problem ? null : b.compared,
    verdict: problem || b.compared === null ? "SKIP" : passes(b.compared) ? "PASS" : "FAIL",
    note: problem ?? b.note,
  };
}

// P10: CPU per warm hello request, Isola's host + workers + PostgreSQL against the C# hop + its Deno.
{
  const isola = cpu.isola.totalUs;
  const baseline = cpu["csharp-hop"].totalUs;
  const parts = (s: CpuSummary) => Object.entries(s.roles).map(([role, us]) => `${role} ${us.toFixed(1)}`).join(", ");
  budgets.push(compareBudget({
    id: "P10",
    what: "CPU per warm hello request vs the C# hop + its Deno",
    unit: "µs",
    problem: loadProblem("isola", "throughput") ?? loadProblem("csharp-hop", "throughput"),
    isola,
    baseline,
    compared: isola !== null && baseline ? isola / baseline : null,
    budget: "<=1.20x",
    passes: (ratio) => ratio <= 1.2,
    note: `c=50, utime+stime from /proc per process, median of ${cpu.isola.runs} runs; Isola: ${parts(cpu.isola)}; hop: ${parts(cpu["csharp-hop"])}`,
  }));
}

{
  const problem = loadProblem("isola", "latency") ?? loadProblem("deno", "latency");
  const isola = servers.isola.latency.medianP50Ms;
  const baseline = servers.deno.latency.medianP50Ms;
  budgets.push(compareBudget({
    id: "P2",
    what: "p50 latency vs bare Deno p50",
    unit: "ms",
    problem,
    isola,
    baseline,
    compared: isola !== null && baseline !== null ? isola - baseline : null,
    budget: "<=+0.15ms",
    passes: (diff) => diff <= 0.15,
    note: "c=1, difference of medians",
  }));
  const p99 = problem === null ? servers.isola.latency.medianP99Ms : null;
  budgets.push({
    id: "P2",
    what: "p99 latency",
    unit: "ms",
    isola: p99,
    baseline: null,
    compared: null,
    budget: "<=2ms",
    verdict: p99 === null ? "SKIP" : p99 <= 2 ? "PASS" : "FAIL",
    note: problem ?? `c=1, median of ${servers.isola.latency.p99Ms.length} runs' p99`,
  });
}

{
  const samples = coldStart?.samples ?? [];
  const times = samples.filter((s) => s.coldStartMs !== null && !s.error).map((s) => s.coldStartMs!);
  const failed = samples.filter((s) => s.error);
  const problem = isolaStatus !== "ok"
    ? isolaError
    : coldStart === null
    ? "the cold-start probe did not run"
    : failed.length > 0
    ? `${failed.length} of ${samples.length} functions failed; first: ${failed[0].error}`
    : times.length === 0
    ? "no cold start was measured"
    : null;
  for (const [q, limit] of [[50, 20], [99, 80]] as const) {
    const value = problem === null ? percentile(times, q) : null;
    budgets.push({
      id: "P3",
      what: `cold start p${q} (deploy 201 → first 200)`,
      unit: "ms",
      isola: value,
      baseline: null,
      compared: null,
      budget: `<=${limit}ms`,
      verdict: value === null ? "SKIP" : value <= limit ? "PASS" : "FAIL",
      note: problem ?? `n=${times.length}`,
    });
  }
}

{
  const samples = deployNpm?.samples ?? [];
  const times = samples.filter((s) => !s.error && s.deployMs !== null).map((s) => s.deployMs!);
  const failed = samples.filter((s) => s.error);
  const problem = deployNpm === null
    ? (env("BENCH_DEPLOY_ERROR") || isolaError)
    : deployNpm.warm.error
    ? `the warm-up deploy failed: ${deployNpm.warm.error}`
    : failed.length > 0
    ? `${failed.length} of ${samples.length} deploys failed; first: ${failed[0].error}`
    : times.length === 0
    ? "no deploy was measured"
    : null;
  const value = problem === null ? median(times) : null;
  const ready = samples.filter((s) => typeof s.readyMs === "number").map((s) => s.readyMs!);
  const readyNote = ready.length > 0 ? `; POST → first 200 of the function p50 ${median(ready)!.toFixed(0)} ms` : "";
  budgets.push({
    id: "P4",
    what: "deploy with a cached npm: import, POST → 201, p50",
    unit: "ms",
    isola: value,
    baseline: null,
    compared: null,
    budget: "<=300ms",
    verdict: value === null ? "SKIP" : value <= 300 ? "PASS" : "FAIL",
    note: problem ?? `n=${times.length}${readyNote}`,
  });
}

// P7 (cron): how late a cron run's code starts after its tick, by the worker's clock; every run counts.
{
  const delays = cronDelay?.delaysMs ?? [];
  const problem = isolaStatus !== "ok"
    ? isolaError
    : cronDelay === null
    ? "the cron probe did not run"
    : cronDelay.error ?? (delays.length === 0 ? "no cron run was measured" : null);
  const worst = problem === null ? Math.max(...delays) : null;
  budgets.push({
    id: "P7",
    what: "cron: a run's code starts after its tick, slowest run",
    unit: "ms",
    isola: worst,
    baseline: null,
    compared: null,
    budget: "<=1000ms",
    verdict: worst === null ? "SKIP" : worst <= 1000 ? "PASS" : "FAIL",
    note: problem ?? `n=${delays.length} runs of "* * * * * *", p50 ${percentile(delays, 50)!.toFixed(0)} ms, the first includes its worker's start`,
  });
}

// ---- output -----------------------------------------------------------------------------------

// Deno wants --allow-all to read /proc, so bench/run reads it and passes what it found.
const machine = {
  cores: Number(env("BENCH_CORES")) || navigator.hardwareConcurrency,
  model: env("BENCH_CPU_MODEL") || "unknown",
  memoryGiB: Math.round((Number(env("BENCH_MEM_KB")) / 1024 / 1024) * 10) / 10,
  kernel: env("BENCH_KERNEL"),
  os: env("BENCH_OS"),
  // Other work on a shared machine shows here: a 1-minute load above ~1 before the runs means noisy figures.
  loadAverageBefore: env("BENCH_LOAD_BEFORE"),
  loadAverageAfter: env("BENCH_LOAD_AFTER"),
  // CPU taken by other processes over 2 s just before the runs, while every server here idled.
  otherCpuBusyPercent: Number(env("BENCH_BUSY_BEFORE")),
};
const date = new Date().toISOString();

const fmt = (value: number | null, unit: string): string => {
  if (value === null) return "n/a";
  if (unit === "req/s" || unit === "events/s") return value.toFixed(0);
  if (unit === "µs") return value.toFixed(1) + "µs";
  return value < 10 ? value.toFixed(3) + "ms" : value.toFixed(1) + "ms";
};
const fmtCompared = (b: Budget): string => {
  if (b.compared === null) return "n/a";
  return b.unit === "req/s" || b.unit === "µs" ? b.compared.toFixed(2) : (b.compared >= 0 ? "+" : "") + b.compared.toFixed(3) + "ms";
};

// P6: what ctx.db's `select 1` adds to a function at p50, over what the same query adds to the C#
// hop with Npgsql (both against the same PostgreSQL, same run, c=1): a difference of differences.
{
  const problem = loadProblem("isola-db", "latency") ?? loadProblem("isola", "latency") ??
    loadProblem("hop-db", "latency") ?? loadProblem("hop-direct", "latency");
  const isolaAdds = problem === null ? servers["isola-db"].latency.medianP50Ms! - servers.isola.latency.medianP50Ms! : null;
  const csharpAdds = problem === null ? servers["hop-db"].latency.medianP50Ms! - servers["hop-direct"].latency.medianP50Ms! : null;
  const diff = isolaAdds !== null && csharpAdds !== null ? isolaAdds - csharpAdds : null;
  budgets.push({
    id: "P6",
    what: "ctx.db select 1 added at p50, over the same query from C# with Npgsql",
    unit: "ms",
    isola: isolaAdds,
    baseline: csharpAdds,
    compared: diff,
    budget: "<=+0.4ms",
    verdict: diff === null ? "SKIP" : diff <= 0.4 ? "PASS" : "FAIL",
    note: problem ?? "c=1; Isola: db function p50 − hello p50; C#: Npgsql endpoint p50 − direct endpoint p50; pools: 10 connections per app and role, Npgsql default 100",
  });
}

/** A throughput ratio of two Isola targets measured in the same run (c=50): `target` ÷ `baseline` ≥ `min`. */
function throughputRatio(id: string, what: string, target: Target, baseline: Target, min: number): Budget {
  const problem = loadProblem(target, "throughput") ?? loadProblem(baseline, "throughput");
  const measured = servers[target].throughput.medianRps;
  const base = servers[baseline].throughput.medianRps;
  const ratio = problem === null && measured !== null && base ? measured / base : null;
  return {
    id,
    what,
    unit: "req/s",
    isola: problem ? null : measured,
    baseline: base,
    compared: ratio,
    budget: `>=${min.toFixed(2)}`,
    verdict: ratio === null ? "SKIP" : ratio >= min ? "PASS" : "FAIL",
    note: problem ?? `c=50, median of ${servers[target].throughput.rps.length} runs`,
  };
}

// Not a budget id: a function doing one indexed primary-key select per request, against the hello function.
budgets.push(throughputRatio("DB", "throughput of a primary-key select function vs hello", "isola-pk", "isola", 0.6));

// P11: a typed query through /api/fn against a plain function running the same select, same run, c=50.
budgets.push(throughputRatio("P11", "throughput of a typed query (POST /api/fn) vs a plain function running the same primary-key select",
  "isola-typed", "isola-pk", 0.9));

// P12: live query, write sent → pushed result at every subscriber (an upper bound of commit → push).
{
  const shared = live?.shared ?? null;
  const problem = live === null ? "not measured" : live.error ?? (shared?.p50Ms == null ? "no push was timed" : null);
  const p50 = problem === null ? shared!.p50Ms : null;
  const p99 = problem === null ? shared!.p99Ms : null;
  budgets.push({
    id: "P12",
    what: `live query push at ${live?.clients ?? "?"} subscribers of one query, write sent → result frame, p50 (p99 in the note)`,
    unit: "ms",
    isola: p50,
    baseline: null,
    compared: null,
    budget: "p50<=20ms p99<=100ms",
    verdict: p50 === null || p99 === null ? "SKIP" : p50 <= 20 && p99 <= 100 ? "PASS" : "FAIL",
    note: problem ?? `p99 ${p99!.toFixed(1)}ms over ${shared!.samples} pushes (${live!.writes} writes); the mutation itself p50 ` +
      `${live!.mutation?.p50Ms?.toFixed(1)}ms; with ${live!.clients} different queries on the table, every write re-runs them all and the ` +
      `changed one arrives p50 ${live!.fanOut?.p50Ms?.toFixed(1)}ms; change trigger +${live!.triggerPerStatementUs?.toFixed(1)}µs per insert ` +
      `statement, +${live!.triggerPerTransactionUs?.toFixed(0)}µs per committed transaction`,
  });
}

// P7: POST /v1/{app}/events sent → the subscribed handler's first statement, one event at a time.
{
  const samples = eventLatency?.samples ?? [];
  const times = samples.filter((s) => s.startMs !== null && !s.error).map((s) => s.startMs!);
  const failed = samples.filter((s) => s.error);
  const problem = isolaStatus !== "ok"
    ? isolaError
    : eventLatency === null
    ? "the event-latency probe did not run"
    : eventLatency.error
    ? eventLatency.error
    : failed.length > 0
    ? `${failed.length} of ${samples.length} events failed; first: ${failed[0].error}`
    : times.length === 0
    ? "no event was measured"
    : null;
  const value = problem === null ? percentile(times, 50) : null;
  budgets.push({
    id: "P7",
    what: "event publish (API) → handler start, p50 (events)",
    unit: "ms",
    isola: value,
    baseline: null,
    compared: null,
    budget: "<=10ms",
    verdict: value === null ? "SKIP" : value <= 10 ? "PASS" : "FAIL",
    note: problem ?? `n=${times.length}, p99 ${percentile(times, 99)!.toFixed(1)} ms`,
  });
}

// P14: events/s delivered to a no-op function, from a backlog released at once.
{
  const t = eventThroughput;
  const problem = isolaStatus !== "ok"
    ? isolaError
    : t === null
    ? "the event-throughput probe did not run"
    : t.error ?? (t.deliverMs === null ? "no delivery was measured" : null);
  const rate = problem === null ? t!.events / (t!.deliverMs! / 1000) : null;
  const publishRate = t?.publishMs ? t.events / (t.publishMs / 1000) : null;
  budgets.push({
    id: "P14",
    what: "events delivered to a no-op function, one node",
    unit: "events/s",
    isola: rate,
    baseline: null,
    compared: null,
    budget: ">=2000/s",
    verdict: rate === null ? "SKIP" : rate >= 2000 ? "PASS" : "FAIL",
    note: problem ?? `${t!.events} events${publishRate === null ? "" : `; the API published ${publishRate.toFixed(0)} events/s (16 clients)`}`,
  });
}

// Not a budget: what verifying an end-user JWT (feature A1) adds at the gateway, same run, c=1.
const jwtP50 = servers["isola-jwt"].latency.medianP50Ms;
const plainP50 = servers.isola.latency.medianP50Ms;
const jwtLine = jwtP50 !== null && plainP50 !== null && loadProblem("isola-jwt", "latency") === null
  ? `P2-JWT isola-jwt p50=${fmt(jwtP50, "ms")} isola p50=${fmt(plainP50, "ms")} added=${(jwtP50 - plainP50 >= 0 ? "+" : "") + (jwtP50 - plainP50).toFixed(3)}ms (JWT verification at the gateway, c=1; no budget)`
  : "P2-JWT not measured";

// Not a budget: realtime message → reply at many connected clients (T4), from realtime-probe.ts.
const realtimeLine = realtime === null
  ? "RT not measured"
  : realtime.error || realtime.p50Ms === null
  ? `RT not measured (${realtime.error ?? "no reply was timed"})`
  : `RT realtime round trip p50=${fmt(realtime.p50Ms, "ms")} p99=${fmt(realtime.p99Ms, "ms")} (${realtime.clients} clients connected, ` +
    `each sending ${realtime.ratePerClient}/s: ${realtime.messagesPerSecond!.toFixed(0)} msg/s for ${realtime.seconds}s; ` +
    `errors ${JSON.stringify(realtime.errors)}; no budget)`;

// The worker pool's budgets (P9, P5, P8): bench/pool/run's own verdict lines, from its pool.json in this run's work dir.
const poolLines = (await readJson<{ lines: string[] }>(`${workDir}/pool.json`))?.lines ?? ["P9/P5/P8 not measured (bench/pool/run did not write pool.json)"];

const lines = budgets.map((b) => {
  const parts = [b.id, `isola=${fmt(b.isola, b.unit)}`];
  if (b.unit === "req/s" || b.unit === "µs") parts.push(`baseline=${fmt(b.baseline, b.unit)}`, `ratio=${fmtCompared(b)}`);
  else if (b.baseline !== null) parts.push(`baseline=${fmt(b.baseline, b.unit)}`, `diff=${fmtCompared(b)}`);
  parts.push(`budget=${b.budget}`, b.verdict);
  return `${parts.join(" ")}  (${b.what}; ${b.note})`;
});

const commit = env("BENCH_GIT_COMMIT");
const when = date.slice(0, 16).replace("T", " ") + " UTC";
const machineLine = `${machine.cores} cores, ${machine.model}, ${machine.memoryGiB} GiB, ${machine.os}` +
  ` (CPU used by other processes before the runs: ${machine.otherCpuBusyPercent}%)`;
const durationS = env("BENCH_DURATION");
const runsPerMode = env("BENCH_RUNS");
const cell = (v: number | null, digits: number) => (v === null ? "n/a" : v.toFixed(digits));
const table = [
  `Measured ${when} on ${machineLine}; commit ${commit || "unknown"}. ` +
  `wrk -t2 -c50 -d${durationS}s (req/s) and -t1 -c1 -d${durationS}s (latency), median of ${runsPerMode} runs each, after a warm-up.`,
  "",
  "| server | req/s (c=50) | p50 ms (c=1) | p99 ms (c=1) |",
  "|---|---:|---:|---:|",
  ...TARGETS.map((t) => {
    const s = servers[t];
    const ok = !ISOLA_TARGETS.includes(t) || isolaStatus === "ok";
    return `| ${s.label} | ${ok ? cell(s.throughput.medianRps, 0) : "n/a"} | ${ok ? cell(s.latency.medianP50Ms, 3) : "n/a"} | ${
      ok ? cell(s.latency.medianP99Ms, 3) : "n/a"
    } |`;
  }),
  "",
  "CPU per request at c=50 (µs of user + system time per request, from `/proc/<pid>/stat` before and after each throughput run; median of the runs):",
  "",
  "| server | total µs | by process |",
  "|---|---:|---|",
  ...CPU_TARGETS.filter((t) => cpu[t].totalUs !== null && (!ISOLA_TARGETS.includes(t) && t !== "isola-typed" || isolaStatus === "ok")).map((t) =>
    `| ${LABELS[t]} | ${cell(cpu[t].totalUs, 1)} | ${Object.entries(cpu[t].roles).map(([role, us]) => `${role} ${us.toFixed(1)}`).join(", ")} |`
  ),
  "",
  "| budget | what | Isola | baseline | ratio / diff | budget | verdict |",
  "|---|---|---:|---:|---:|---|---|",
  ...budgets.map((b) =>
    `| ${b.id} | ${b.what} | ${fmt(b.isola, b.unit)} | ${b.baseline === null ? "" : fmt(b.baseline, b.unit)} | ${
      b.compared === null ? "" : fmtCompared(b)
    } | ${b.budget.replace(">=", "≥ ").replace("<=", "≤ ")} | ${b.verdict} |`
  ),
].join("\n");

const report = {
  date,
  machine,
  versions: {
    deno: env("BENCH_DENO_VERSION"),
    workerd: env("BENCH_WORKERD_VERSION"),
    wrk: env("BENCH_WRK_VERSION"),
    dotnet: env("BENCH_DOTNET_VERSION"),
  },
  git: { commit, dirty: env("BENCH_GIT_DIRTY") === "1" },
  config: {
    durationS: Number(durationS),
    runs: Number(runsPerMode),
    warmupS: Number(env("BENCH_WARMUP")),
    throughput: { threads: 2, connections: 50 },
    latency: { threads: 1, connections: 1 },
  },
  isola: { status: isolaStatus, error: isolaStatus === "ok" ? null : isolaError },
  servers,
  cpuPerRequestUs: cpu,
  coldStart: coldStart && {
    ...coldStart,
    p50Ms: percentile(coldStart.samples.filter((s) => s.coldStartMs !== null).map((s) => s.coldStartMs!), 50),
    p99Ms: percentile(coldStart.samples.filter((s) => s.coldStartMs !== null).map((s) => s.coldStartMs!), 99),
  },
  deployNpm: deployNpm && {
    ...deployNpm,
    p50Ms: median(deployNpm.samples.filter((s) => !s.error && s.deployMs !== null).map((s) => s.deployMs!)),
    readyP50Ms: median(deployNpm.samples.filter((s) => typeof s.readyMs === "number").map((s) => s.readyMs!)),
  },
  cronDelay,
  budgets,
  jwt: { isolaJwtP50Ms: jwtP50, isolaP50Ms: plainP50, addedMs: jwtP50 !== null && plainP50 !== null ? jwtP50 - plainP50 : null },
  realtime,
  live,
  lines: [...lines, ...poolLines, jwtLine, realtimeLine],
  markdown: table,
  wrkRuns: runs,
};
await Deno.writeTextFile(outFile, JSON.stringify(report, null, 2) + "\n");

console.log([...lines, ...poolLines, jwtLine, realtimeLine].join("\n"));
console.log("");
console.log(table);

Deno.exit(budgets.some((b) => b.verdict === "SKIP") ? 1 : budgets.some((b) => b.verdict === "FAIL") ? 2 : 0);

// bench/runtime/run's report: medians over the interleaved runs of each server and mode, printed as
// a markdown table, and the ratios to bare Deno (throughput, worker CPU per request) and the c=1 p99 against P2.
// Usage: deno run --allow-read report.ts RUNS_JSONL
/** One wrk run as bench/runtime/run wrote it: CPU µs of the hop and of the server behind it, wrk's figures. */
interface RawRun {
  kind: "run";
  server: string;
  mode: "c50" | "c1";
  hopCpuUs: number;
  serverCpuUs: number;
  /** The server's CPU µs by thread: its JS thread, V8's worker threads (GC), the rest (I/O). */
  threadsUs: [number, number, number];
  gc: { scavenges: number; scavengeMs: number; scavengeMax: number; full: number; fullMs: number } | null;
  wrk: {
    requests: number;
    rps: number;
    errors: Record<string, number>;
    latency_us: { p50: number; p99: number };
  };
}
interface Run {
  server: string;
  mode: string;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  /** µs of CPU per request: the hop, and the server behind it (bare Deno or the Isola worker). */
  hopCpu: number;
  upstreamCpu: number;
  threads: number[];
  gc: RawRun["gc"];
}
interface Rss {
  server: string;
  when: string;
  kb: number;
}

const lines = (await Deno.readTextFile(Deno.args[0])).split("\n").filter((line) => line.trim() !== "");
const records = lines.map((line) => JSON.parse(line) as { kind: string });
const runs: Run[] = (records.filter((r) => r.kind === "run") as RawRun[]).map((r) => ({
  server: r.server,
  mode: r.mode,
  requests: r.wrk.requests,
  errors: Object.values(r.wrk.errors).reduce((sum, n) => sum + n, 0),
  rps: r.wrk.rps,
  p50: r.wrk.latency_us.p50,
  p99: r.wrk.latency_us.p99,
  hopCpu: r.hopCpuUs / r.wrk.requests,
  upstreamCpu: r.serverCpuUs / r.wrk.requests,
  threads: r.threadsUs.map((us) => us / r.wrk.requests),
  gc: r.gc,
}));
const rss = records.filter((r) => r.kind === "rss") as unknown as Rss[];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
const ms = (us: number) => (us / 1000).toFixed(3);
const f1 = (n: number) => n.toFixed(1);

const servers = [...new Set(runs.map((r) => r.server))];
const pick = (server: string, mode: string) => runs.filter((r) => r.server === server && r.mode === mode);
const summary = new Map<string, Record<string, number>>();

console.log("| server | mode | req/s | p50 ms | p99 ms | hop CPU µs/req | server CPU µs/req (JS / V8 workers / I/O) | scavenges /10k req | scavenge ms (mean / max) | full GCs | errors |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const mode of ["c50", "c1"]) {
  for (const server of servers) {
    const set = pick(server, mode);
    if (set.length === 0) continue;
    const figures = {
      rps: median(set.map((r) => r.rps)),
      p50: median(set.map((r) => r.p50)),
      p99: median(set.map((r) => r.p99)),
      hopCpu: median(set.map((r) => r.hopCpu)),
      upstreamCpu: median(set.map((r) => r.upstreamCpu)),
      js: median(set.map((r) => r.threads[0])),
      v8: median(set.map((r) => r.threads[1])),
      io: median(set.map((r) => r.threads[2])),
    };
    summary.set(`${server} ${mode}`, figures);
    const gcs = set.map((r) => r.gc).filter((g) => g !== null);
    let gcText = ["n/a", "n/a", "n/a"];
    if (gcs.length) {
      const requests = set.reduce((sum, r) => sum + r.requests, 0);
      const scavenges = gcs.reduce((sum, g) => sum + g.scavenges, 0);
      const scavengeMs = gcs.reduce((sum, g) => sum + g.scavengeMs, 0);
      gcText = [
        f1(scavenges / requests * 10_000),
        `${scavenges ? (scavengeMs / scavenges).toFixed(2) : "0"} / ${Math.max(...gcs.map((g) => g.scavengeMax)).toFixed(2)}`,
        String(gcs.reduce((sum, g) => sum + g.full, 0)),
      ];
    }
    const errors = set.reduce((sum, r) => sum + r.errors, 0);
    console.log(`| ${server} | ${mode} | ${figures.rps.toFixed(0)} | ${ms(figures.p50)} | ${ms(figures.p99)} | ${f1(figures.hopCpu)} | ${
      f1(figures.upstreamCpu)
    } (${f1(figures.js)} / ${f1(figures.v8)} / ${f1(figures.io)}) | ${gcText.join(" | ")} | ${errors} |`);
  }
}

const deno = summary.get("deno c50");
for (const name of ["before", "isola"]) {
  const worker = summary.get(`${name} c50`);
  if (!deno || !worker) continue;
  console.log("");
  console.log(`${name}: throughput (c=50) vs bare Deno = ${(worker.rps / deno.rps).toFixed(2)} (goal >= 0.80)`);
  console.log(`${name}: server CPU per request (c=50) vs bare Deno = ${(worker.upstreamCpu / deno.upstreamCpu).toFixed(2)}`);
  const latency = summary.get(`${name} c1`);
  if (latency) console.log(`${name}: c=1 p99 = ${ms(latency.p99)} ms (goal <= 2 ms)`);
}
for (const r of rss) console.log(`RSS ${r.server} ${r.when}: ${(r.kb / 1024).toFixed(1)} MB`);
const bad = runs.filter((r) => r.errors > 0);
if (bad.length) console.log(`WARNING: ${bad.length} runs had socket errors or non-2xx answers: their figures are not trustworthy`);

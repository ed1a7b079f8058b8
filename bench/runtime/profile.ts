// Profiles a running worker through its V8 inspector (a worker started with --inspect=127.0.0.1:PORT):
// a CPU profile and a sampling heap (allocation) profile over the same SECONDS, then a second
// sampling heap profile over SECONDS more that leaves out what the young generation collected: what
// outlived scavenges (copied, then promoted to the old generation) and is still alive or was
// collected by a full GC since. Prints the functions with the most self time and the most bytes
// allocated and outliving the young generation, and writes the raw profiles (open the
// .cpuprofile in Chrome DevTools) to OUT_DIR.
// Usage: deno run --allow-net=127.0.0.1 --allow-write=OUT_DIR profile.ts PORT SECONDS OUT_DIR [TOP]
const [port, seconds, outDir, top = "25"] = Deno.args;
if (!outDir) {
  console.error("usage: profile.ts PORT SECONDS OUT_DIR [TOP]");
  Deno.exit(2);
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as { webSocketDebuggerUrl: string }[];
const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
  socket.onopen = resolve;
  socket.onerror = reject;
});
let nextId = 1;
const waiting = new Map<number, (result: unknown) => void>();
socket.onmessage = (event) => {
  const message = JSON.parse(event.data) as { id?: number; result?: unknown; error?: unknown };
  if (message.id === undefined) return;
  if (message.error) console.error(JSON.stringify(message.error));
  waiting.get(message.id)?.(message.result);
  waiting.delete(message.id);
};
function send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
  const id = nextId++;
  socket.send(JSON.stringify({ id, method, params }));
  return new Promise((resolve) => waiting.set(id, resolve as (result: unknown) => void));
}

const where = (frame: CallFrame) =>
  `${frame.functionName || "(anonymous)"} ${frame.url.replace(/^.*\/(runtime|ext:)/, "$1")}:${frame.lineNumber + 1}`;

await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 });
await send("HeapProfiler.enable");
await send("Profiler.start");
// Every allocation sampled, not only what is still alive at the end: the young generation's churn is the point.
await send("HeapProfiler.startSampling", {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
const { profile } = await send<{ profile: { nodes: CpuNode[] } }>("Profiler.stop");
const { profile: heap } = await send<{ profile: { head: HeapNode } }>("HeapProfiler.stopSampling");
await send("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true });
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
const { profile: retained } = await send<{ profile: { head: HeapNode } }>("HeapProfiler.stopSampling");
socket.close();
await Deno.writeTextFile(`${outDir}/worker.cpuprofile`, JSON.stringify(profile));
await Deno.writeTextFile(`${outDir}/worker.heapprofile`, JSON.stringify(heap));
await Deno.writeTextFile(`${outDir}/worker-promoted.heapprofile`, JSON.stringify(retained));

const selfTime = new Map<string, number>();
let samples = 0;
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  samples += hits;
  const key = where(node.callFrame);
  selfTime.set(key, (selfTime.get(key) ?? 0) + hits);
}
console.log(`CPU, self time (${samples} samples):`);
for (const [key, hits] of [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`  ${(hits / samples * 100).toFixed(1).padStart(5)}%  ${key}`);
}

function printHeap(title: string, head: HeapNode): void {
  const bySite = new Map<string, number>();
  let bytes = 0;
  const walk = (node: HeapNode) => {
    bytes += node.selfSize;
    const key = where(node.callFrame);
    bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    node.children.forEach(walk);
  };
  walk(head);
  console.log(`${title} (${(bytes / 1048576).toFixed(1)} MB):`);
  for (const [key, size] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    console.log(`  ${(size / bytes * 100).toFixed(1).padStart(5)}%  ${key}`);
  }
}
printHeap("allocations, sampled", heap.head);
printHeap("outlived the young generation, sampled", retained.head);

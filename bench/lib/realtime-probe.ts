// Realtime round trip (T4): CLIENTS WebSockets connected to /v1/default/realtime at once, each
// sending {"event":"echo"} to a function that answers with the message's data, RATE times a second
// (or as soon as its previous reply arrived, if that took longer), for SECONDS after a warm-up. It
// reports p50 and p99 of message sent → reply received, over every message of every client.
// Paced because a connection may send 20 messages a second (RealtimeOptions): the figure is the
// latency at that load, not a throughput ceiling. Started by bench/run; runs alone against any node:
//
//   deno run --allow-net=127.0.0.1 --allow-read=KEY_FILE --allow-write=OUT_JSON realtime-probe.ts \
//     BASE_URL KEY_FILE OUT_JSON [CLIENTS=100] [SECONDS=10] [RATE=10]
//
// Never exits non-zero for a measurement that went wrong (the JSON's "error" says what), only for bad usage.

interface Result {
  clients: number;
  seconds: number;
  ratePerClient: number;
  connectMs: number | null;
  messages: number;
  messagesPerSecond: number | null;
  errors: Record<string, number>;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  error?: string;
}

const [baseUrl, keyFile, outFile, clientsArg = "100", secondsArg = "10", rateArg = "10"] = Deno.args;
const clients = Number(clientsArg);
const seconds = Number(secondsArg);
const rate = Number(rateArg);
if (!baseUrl || !keyFile || !outFile || !(clients > 0) || !(seconds > 0) || !(rate > 0)) {
  console.error("usage: realtime-probe.ts BASE_URL KEY_FILE OUT_JSON [CLIENTS] [SECONDS] [RATE]");
  Deno.exit(2);
}
const WARMUP_MS = 2_000;
const adminKey = (await Deno.readTextFile(keyFile)).trim();
const result: Result = {
  clients, seconds, ratePerClient: rate, connectMs: null, messages: 0, messagesPerSecond: null, errors: {},
  p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null,
};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function percentile(sorted: number[], q: number): number | null {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((q / 100) * sorted.length) - 1)];
}

/** One client: frames are answered in the order asked, so a reply is the oldest question's. */
class Client {
  private readonly waiting: ((frame: { replyTo?: number; error?: { code: string } }) => void)[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.onmessage = (e) => this.waiting.shift()?.(JSON.parse(String(e.data)));
  }

  static async open(url: string): Promise<Client> {
    const ws = new WebSocket(url);
    const connected = new Promise<void>((resolve, reject) => {
      ws.onmessage = () => resolve(); // the "connected" frame
      ws.onerror = () => reject(new Error("the WebSocket failed to open"));
      ws.onclose = (e) => reject(new Error(`closed ${e.code} ${e.reason}`));
    });
    await connected;
    return new Client(ws);
  }

  ask(id: number): Promise<{ replyTo?: number; error?: { code: string } }> {
    const reply = new Promise<{ replyTo?: number; error?: { code: string } }>((resolve) => this.waiting.push(resolve));
    this.ws.send(JSON.stringify({ event: "echo", data: id, id }));
    return reply;
  }

  close(): void {
    this.ws.close(1000, "done");
  }
}

async function run(): Promise<void> {
  const headers = { "Authorization": `Bearer ${adminKey}`, "Content-Type": "application/json" };
  const deployed = await fetch(`${baseUrl}/v1/default/functions`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      name: "rt-echo",
      trigger: { type: "websocket", config: { event: "echo" } },
      code: "export default (req, ctx) => Response.json(ctx.trigger.data);",
    }),
  });
  // 409: deployed by an earlier run against this node, with the same code.
  if (deployed.status !== 201 && deployed.status !== 409) {
    throw new Error(`deploying the echo function answered ${deployed.status}: ${await deployed.text()}`);
  }
  await deployed.body?.cancel();
  const auth = await (await fetch(`${baseUrl}/v1/apps/default/auth`, { headers })).json() as { anonKey: string };
  const url = `${baseUrl.replace(/^http/, "ws")}/v1/default/realtime?apikey=${auth.anonKey}`;

  const connectStarted = performance.now();
  const open: Client[] = [];
  for (let i = 0; i < clients; i++) open.push(await Client.open(url));
  result.connectMs = performance.now() - connectStarted;

  const samples: number[] = [];
  const started = performance.now();
  const measureFrom = started + WARMUP_MS;
  const end = measureFrom + seconds * 1000;
  const interval = 1000 / rate;
  await Promise.all(open.map(async (client, c) => {
    // Spread the clients over one interval so they do not all send in the same millisecond.
    await sleep((c * interval) / clients);
    for (let id = 0; performance.now() < end; id++) {
      const sent = performance.now();
      const reply = await client.ask(id);
      const received = performance.now();
      if (sent >= measureFrom && received <= end) {
        if (reply.error) result.errors[reply.error.code] = (result.errors[reply.error.code] ?? 0) + 1;
        else if (reply.replyTo !== id) result.errors["WRONG_REPLY"] = (result.errors["WRONG_REPLY"] ?? 0) + 1;
        else samples.push(received - sent);
      }
      await sleep(Math.max(0, interval - (received - sent)));
    }
  }));
  for (const client of open) client.close();

  samples.sort((a, b) => a - b);
  result.messages = samples.length;
  result.messagesPerSecond = samples.length / seconds;
  result.p50Ms = percentile(samples, 50);
  result.p90Ms = percentile(samples, 90);
  result.p99Ms = percentile(samples, 99);
  result.maxMs = samples.at(-1) ?? null;
}

try {
  await run();
} catch (error) {
  result.error = error instanceof Error ? error.message : String(error);
}
await Deno.writeTextFile(outFile, JSON.stringify(result, null, 2) + "\n");
console.error(result.error
  ? `  realtime probe failed: ${result.error}`
  : `  realtime round trip at ${clients} clients: p50 ${result.p50Ms?.toFixed(2)} ms, p99 ${result.p99Ms?.toFixed(2)} ms, ` +
    `${result.messagesPerSecond?.toFixed(0)} msg/s, errors ${JSON.stringify(result.errors)}`);
Deno.exit(0);

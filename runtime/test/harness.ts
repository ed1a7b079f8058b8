// Test harness: builds function bundles and starts the real bootstrap as a separate process with the
// host's own arguments (asked of the host: `isola.dll protocol-commands`, so they cannot drift from
// what the host runs), in a temp workerDir, and talks to it over its Unix socket.

export const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const BOOTSTRAP = `${REPO}/runtime/bootstrap.ts`;
export const FIXTURES = `${REPO}/test/fixtures/functions`;
export const DENO = Deno.env.get("ISOLA_DENO") ??
  `${REPO}/.tools/deno/node_modules/@deno/linux-x64-glibc/deno`;
/** Shared by builds and workers, so npm packages download once per machine. */
export const DENO_DIR = Deno.env.get("ISOLA_RUNTIME_DENO_DIR") ?? `${REPO}/runtime/.cache/deno`;
/** A port the worker is forbidden to reach (stands in for the host's own port). */
export const HOST_PORT = 47999;

export const SCRIPT_EXPORT = "\n;export { handler as __isolaScriptHandler };\n";

/** The built host (run-tests.sh builds it when stale). */
export const HOST_DLL = Deno.env.get("ISOLA_HOST_DLL") ?? `${REPO}/src/Isola.Host/bin/Release/net10.0/isola.dll`;

interface HostCommands {
  bundle: string[];
  worker: string[];
  workerEnv: Record<string, string>;
}

/** The host's exact bundle and worker arguments, with {placeholders}. */
const HOST_COMMANDS: HostCommands = await (async () => {
  const out = await new Deno.Command("dotnet", { args: [HOST_DLL, "protocol-commands"], stdout: "piped", stderr: "piped" })
    .output()
    .catch((error) => {
      throw new Error(`cannot run the host (${HOST_DLL}) for its launch arguments: ${error}`);
    });
  if (!out.success) {
    throw new Error(`the host (${HOST_DLL}) did not give its launch arguments:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
})();

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}
const tempRoots: string[] = [];
let buildRoot: string | null = null;
const builds = new Map<string, Promise<string>>();

async function root(): Promise<string> {
  buildRoot ??= await Deno.makeTempDir({ prefix: "isola-rt-build-" });
  return buildRoot;
}

export interface BuildOptions {
  /** Append the builder's script-handler export, as the host does for MolnOS scripts. */
  script?: boolean;
}

/** Bundles `source` as index.ts with the host's exact command; returns the bundle's path. */
export function buildSource(key: string, source: string, options: BuildOptions = {}): Promise<string> {
  let build = builds.get(key);
  if (!build) {
    build = (async () => {
      const dir = `${await root()}/${key}`;
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(`${dir}/index.ts`, options.script ? source + SCRIPT_EXPORT : source);
      const out = await new Deno.Command(DENO, {
        args: HOST_COMMANDS.bundle.map((arg) => fill(arg, { output: `${dir}/.isola-bundle.mjs`, entrypoint: "index.ts" })),
        cwd: dir,
        env: { DENO_DIR, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) {
        throw new Error(`deno bundle ${key} failed:\n${new TextDecoder().decode(out.stderr)}`);
      }
      return `${dir}/.isola-bundle.mjs`;
    })();
    builds.set(key, build);
  }
  return build;
}

/** Builds a checked-in fixture from test/fixtures/functions/<name>. */
export async function buildFixture(name: string): Promise<string> {
  const source = await Deno.readTextFile(`${FIXTURES}/${name}/index.ts`);
  return buildSource(`fixture-${name}`, source, { script: name === "script-handler" });
}

export interface LogRecord {
  t: string;
  inv: string | null;
  level: string;
  msg: string;
  ts: number;
}

export interface LoadOptions {
  name?: string;
  env?: Record<string, string>;
  bindings?: unknown[];
}

export interface InvokeOptions extends RequestInit {
  /** x-isola-* envelope; defaults: a fresh invocation id and origin https://fn.example.test. */
  envelope?: Record<string, string>;
}

export class Worker {
  readonly logs: LogRecord[] = [];
  stderr = "";
  private waiters: (() => void)[] = [];
  private constructor(
    readonly dir: string,
    readonly process: Deno.ChildProcess,
    readonly client: Deno.HttpClient,
    readonly started: number,
    readonly readyAt: number,
    private readonly pump: Promise<void>,
  ) {}

  get socket(): string {
    return `${this.dir}/worker.sock`;
  }

  /** Starts bootstrap.ts exactly as PROTOCOL.md says and waits for ISOLA_READY. */
  static async start(memoryLimitMb = 128): Promise<Worker> {
    const dir = await Deno.makeTempDir({ prefix: "isola-rt-w-" });
    tempRoots.push(dir);
    await Deno.mkdir(`${dir}/tmp`);
    const started = performance.now();
    const process = new Deno.Command(DENO, {
      args: HOST_COMMANDS.worker.map((arg) =>
        fill(arg, { workerDir: dir, memoryMb: String(memoryLimitMb), hostPort: String(HOST_PORT), bootstrap: BOOTSTRAP })
      ),
      cwd: dir,
      clearEnv: true,
      env: Object.fromEntries(Object.entries(HOST_COMMANDS.workerEnv).map(([name, value]) => [
        name,
        name === "DENO_DIR" ? DENO_DIR : fill(value, { workerDir: dir }),
      ])),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();

    let resolveReady: (at: number) => void = () => {};
    let rejectReady: (e: Error) => void = () => {};
    const ready = new Promise<number>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    const holder: { worker?: Worker; early: LogRecord[] } = { early: [] };
    let stderr = "";
    const stderrPump = (async () => {
      for await (const chunk of process.stderr.pipeThrough(new TextDecoderStream())) {
        stderr += chunk;
        if (holder.worker) holder.worker.stderr = stderr;
      }
    })();
    const stdoutPump = (async () => {
      let first = true;
      let buffer = "";
      for await (const chunk of process.stdout.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let newline = buffer.indexOf("\n");
        while (newline >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          newline = buffer.indexOf("\n");
          if (first) {
            first = false;
            if (line === "ISOLA_READY") resolveReady(performance.now());
            else rejectReady(new Error(`first stdout line was not ISOLA_READY: ${line}`));
            continue;
          }
          let record: LogRecord;
          try {
            record = JSON.parse(line);
          } catch {
            record = { t: "INVALID", inv: null, level: "INVALID", msg: line, ts: 0 };
          }
          if (holder.worker) holder.worker.push(record);
          else holder.early.push(record);
        }
      }
      rejectReady(new Error(`worker exited before ISOLA_READY; stderr:\n${stderr}`));
    })();

    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ISOLA_READY within 15 s; stderr:\n${stderr}`)), 15_000);
    });
    let readyAt: number;
    try {
      readyAt = await Promise.race([ready, timeout]);
    } catch (error) {
      try {
        process.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await process.status;
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const client = Deno.createHttpClient({ proxy: { transport: "unix", path: `${dir}/worker.sock` } });
    const worker = new Worker(dir, process, client, started, readyAt, Promise.all([stdoutPump, stderrPump]).then(() => {}));
    worker.stderr = stderr;
    holder.worker = worker;
    for (const record of holder.early) worker.push(record);
    return worker;
  }

  private push(record: LogRecord): void {
    this.logs.push(record);
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Copies a bundle to <workerDir>/functions/<name>/ (where the host puts it) and loads it. */
  async load(bundle: string, options: LoadOptions = {}): Promise<Response> {
    const name = options.name ?? "fn";
    const dir = `${this.dir}/functions/${name}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.copyFile(bundle, `${dir}/.isola-bundle.mjs`);
    return this.control("POST", "/__isola/load", {
      bundle: `${dir}/.isola-bundle.mjs`,
      function: { id: "00000000-0000-4000-8000-000000000001", name, app: "default", version: 3 },
      env: options.env ?? {},
      bindings: options.bindings ?? [],
    });
  }

  /** Loads and insists on success; returns the detected shape. */
  async loadOk(bundle: string, options: LoadOptions = {}): Promise<string> {
    const res = await this.load(bundle, options);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`load failed: ${res.status} ${text}\nstderr: ${this.stderr}`);
    return JSON.parse(text).shape;
  }

  control(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`http://worker${path}`, {
      method,
      client: this.client,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** An invocation through the socket; `target` is the request target the function should see. */
  invoke(target: string, options: InvokeOptions = {}): Promise<Response> {
    const { envelope, ...init } = options;
    const headers = new Headers(init.headers);
    const env = {
      "x-isola-invocation-id": crypto.randomUUID(),
      "x-isola-origin": "https://fn.example.test",
      ...envelope,
    };
    for (const [name, value] of Object.entries(env)) headers.set(name, value);
    return fetch(`http://worker${target}`, { ...init, headers, client: this.client });
  }

  /** Waits until a log record matches, or fails after `ms`. */
  async waitForLog(match: (r: LogRecord) => boolean, ms = 5000): Promise<LogRecord> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.logs.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no matching log within ${ms} ms; logs:\n${this.logs.map((l) => JSON.stringify(l)).join("\n")}\nstderr: ${this.stderr}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Kills the process (the host does the same after /__isola/shutdown) and removes its folder. */
  async stop(): Promise<void> {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.process.status;
    await this.pump;
    this.client.close();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Runs `fn` with a fresh worker, always stopping it. */
export async function withWorker<T>(fn: (w: Worker) => Promise<T>): Promise<T> {
  const worker = await Worker.start();
  try {
    return await fn(worker);
  } finally {
    await worker.stop();
  }
}

/** Writes one raw HTTP/1.1 request to the worker socket (origin-form target, as the host sends). */
export async function rawRequest(socket: string, head: string, body = ""): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    const encoder = new TextEncoder();
    await conn.write(encoder.encode(head + body));
    let text = "";
    const decoder = new TextDecoder();
    const buf = new Uint8Array(16384);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
    return text;
  } finally {
    conn.close();
  }
}

/** Test options shared by tests that keep child processes and sockets across awaits. */
export const PROCESS_TEST = { sanitizeOps: false, sanitizeResources: false } as const;

globalThis.addEventListener("unload", () => {
  for (const dir of [...tempRoots, ...(buildRoot ? [buildRoot] : [])]) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Best effort.
    }
  }
});

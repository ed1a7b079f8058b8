// bench/runtime/run's launcher: asks the built host for its exact bundle and worker commands
// (`isola.dll protocol-commands`, as runtime/test/harness.ts does), bundles the hello function
// with the host's command into <workerDir>/functions/hello/, and writes what bash needs to start
// the worker as the host would (without the host's sandbox wrapper):
//   <out>/worker.args  one argument per line (extra V8 flags appended to --v8-flags)
//   <out>/worker.env   NAME=value per line
//   <out>/load.json    the /__isola/load body
// Usage: deno run --allow-run --allow-read --allow-write --allow-env prepare.ts HOST_DLL DENO BOOTSTRAP WORKER_DIR OUT MEMORY_MB [V8_FLAGS]
const [hostDll, deno, bootstrap, workerDir, out, memoryMb, extraV8 = ""] = Deno.args;
if (!memoryMb) {
  console.error("usage: prepare.ts HOST_DLL DENO BOOTSTRAP WORKER_DIR OUT MEMORY_MB [V8_FLAGS]");
  Deno.exit(2);
}
const HELLO = 'export default () => Response.json({ message: "Hello!" });\n';
// Another function module to serve instead (bench/runtime/run's BENCH_FUNCTION): for V8 flags weighed on heavier work.
const source = Deno.env.get("BENCH_FUNCTION") ? await Deno.readTextFile(Deno.env.get("BENCH_FUNCTION")!) : HELLO;

async function run(command: string, args: string[], options: Deno.CommandOptions = {}): Promise<string> {
  const result = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped", ...options }).output();
  if (!result.success) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${new TextDecoder().decode(result.stderr)}`);
  }
  return new TextDecoder().decode(result.stdout);
}

const fill = (template: string, values: Record<string, string>) =>
  template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);

const commands = JSON.parse(await run("dotnet", [hostDll, "protocol-commands"])) as {
  bundle: string[];
  worker: string[];
  workerEnv: Record<string, string>;
};

const fnDir = `${workerDir}/functions/hello`;
await Deno.mkdir(fnDir, { recursive: true });
await Deno.mkdir(`${workerDir}/tmp`, { recursive: true });
await Deno.writeTextFile(`${fnDir}/index.ts`, source);
const bundle = `${fnDir}/.isola-bundle.mjs`;
const denoDir = `${out}/deno-cache`;
await run(deno, commands.bundle.map((arg) => fill(arg, { output: bundle, entrypoint: "index.ts" })), {
  cwd: fnDir,
  env: { DENO_DIR: denoDir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
});

await Deno.mkdir(out, { recursive: true });
const values = { workerDir, memoryMb, hostPort: "47999", bootstrap };
const args = commands.worker.map((arg) => {
  const filled = fill(arg, values);
  return extraV8 && filled.startsWith("--v8-flags=") ? `${filled},${extraV8}` : filled;
});
const env = Object.entries(commands.workerEnv).map(([name, value]) =>
  `${name}=${name === "DENO_DIR" ? denoDir : fill(value, { workerDir })}`
);
await Deno.writeTextFile(`${out}/worker.args`, args.join("\n") + "\n");
await Deno.writeTextFile(`${out}/worker.env`, env.join("\n") + "\n");
await Deno.writeTextFile(`${out}/load.json`, JSON.stringify({
  bundle,
  function: { id: "00000000-0000-4000-8000-000000000001", name: "hello", app: "default", version: 1 },
  env: {},
  bindings: [],
}));

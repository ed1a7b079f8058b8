// The worker runs without --allow-env, so the real Deno.env throws. Functions get a Deno.env
// backed by their own variables only; Deno's process.env reads through Deno.env on every
// access, so it follows without being replaced (replacing it would leave stale copies in
// modules that imported `env` from node:process).

/** The function's variables; also handed out as `ctx.env` / Workers `env`. */
export const functionEnv: Record<string, string> = {};

// Readable through Deno.env.get/process.env (unless the function sets its own) but not listed by
// toObject() nor in ctx.env: node's os.tmpdir() reads TMPDIR through Deno.env and would otherwise
// answer "/tmp", outside the sandbox's writable folder.
const runtimeVars: Record<string, string> = {};

export function setTmpVar(dir: string): void {
  runtimeVars.TMPDIR = dir;
}

function lookup(name: string): string | undefined {
  if (Object.hasOwn(functionEnv, name)) return functionEnv[name];
  return Object.hasOwn(runtimeVars, name) ? runtimeVars[name] : undefined;
}

function checkName(key: string): string {
  const name = String(key);
  if (name === "" || name.includes("=") || name.includes("\0")) {
    throw new TypeError(`Invalid environment variable name: "${name}"`);
  }
  return name;
}

const shim: Deno.Env = {
  get(key: string): string | undefined {
    return lookup(String(key));
  },
  set(key: string, value: string): void {
    functionEnv[checkName(key)] = String(value);
  },
  delete(key: string): void {
    delete functionEnv[String(key)];
  },
  has(key: string): boolean {
    return lookup(String(key)) !== undefined;
  },
  toObject(): { [index: string]: string } {
    return { ...functionEnv };
  },
};

export function installEnv(): void {
  Object.defineProperty(Deno, "env", { value: shim, writable: true, configurable: true });
}

export function setFunctionEnv(values: Record<string, unknown>): void {
  for (const key of Object.keys(functionEnv)) delete functionEnv[key];
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === "string") functionEnv[key] = value;
  }
}

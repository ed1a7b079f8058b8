// <workerDir>/tmp is the function's scratch space; it is emptied whenever the worker goes idle so
// nothing leaks from one invocation into the next. Synchronous on purpose: a new invocation
// cannot start half-way through a wipe and lose a file it has just written.
import { logError } from "./logs.ts";

let tmpDir: string | null = null;
const kept = new Set<string>();

export function setTmpDir(dir: string): void {
  tmpDir = dir;
}

/** Entries the runtime itself owns in tmp (e.g. the node server's socket). */
export function keepInTmp(name: string): void {
  kept.add(name);
}

export function wipeTmp(): void {
  if (!tmpDir) return;
  try {
    for (const entry of Deno.readDirSync(tmpDir)) {
      if (kept.has(entry.name)) continue;
      try {
        Deno.removeSync(`${tmpDir}/${entry.name}`, { recursive: true });
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) logError(error, "could not empty tmp", null);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) logError(error, "could not empty tmp", null);
  }
}

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

/**
 * The folder's mtime when it was last seen empty. Creating or removing an entry changes it, so an
 * unchanged mtime means there is nothing to wipe, and a busy worker skips the directory read (one
 * stat instead of open, read and close on every idle moment). Filesystem clocks are coarse, so a
 * clean state is only remembered once its mtime is safely in the past.
 */
let cleanMtime: number | null = null;
const CLOCK_MARGIN_MS = 50;

function mtimeOf(dir: string): number | null {
  return Deno.statSync(dir).mtime?.getTime() ?? null;
}

export function wipeTmp(): void {
  if (!tmpDir) return;
  try {
    const mtime = mtimeOf(tmpDir);
    if (mtime !== null && mtime === cleanMtime) return;
    for (const entry of Deno.readDirSync(tmpDir)) {
      if (kept.has(entry.name)) continue;
      try {
        Deno.removeSync(`${tmpDir}/${entry.name}`, { recursive: true });
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) logError(error, "could not empty tmp", null);
      }
    }
    const after = mtimeOf(tmpDir);
    cleanMtime = after !== null && after < Date.now() - CLOCK_MARGIN_MS ? after : null;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) logError(error, "could not empty tmp", null);
  }
}

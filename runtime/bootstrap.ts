// Isola worker entry: `deno run ... runtime/bootstrap.ts <workerDir>` (flags in PROTOCOL.md).
// Listens on <workerDir>/worker.sock, prints ISOLA_READY, then serves control endpoints and
// invocations of the one function loaded through /__isola/load.
import { logError, patchConsole, patchStreams, writeLine } from "./src/logs.ts";
import { installEnv, setTmpVar } from "./src/env.ts";
import { loadAsyncContext } from "./src/context.ts";
import { setIdleHook } from "./src/activity.ts";
import { keepInTmp, setTmpDir, wipeTmp } from "./src/tmp.ts";
import { installNodeListen } from "./src/node-listen.ts";
import { handleInvocation, runtimeError, targetOf, warmUp } from "./src/invoke.ts";
import { handleControl } from "./src/control.ts";
import { connectHost, setHostSocket } from "./src/host-calls.ts";
import { installNodeSandbox, installSandbox, sandboxOptions } from "./src/sandbox.ts";
import { CONTROL_PREFIX, HOST_SOCKET, READY_LINE, WORKER_SOCKET } from "./src/protocol.ts";

const workerDir = Deno.args[0]?.replace(/\/+$/, "");
if (!workerDir) {
  console.error("usage: bootstrap.ts <workerDir>");
  Deno.exit(2);
}
const socketPath = `${workerDir}/${WORKER_SOCKET}`;
setHostSocket(`${workerDir}/${HOST_SOCKET}`);
const tmpDir = `${workerDir}/tmp`;

// Taken before the bundle can replace it with the capturing version.
const serve = Deno.serve;

installSandbox(sandboxOptions(Deno.args.slice(1)));
installEnv();
setTmpVar(tmpDir);
patchConsole();
setTmpDir(tmpDir);
// A worker dir under /tmp is bound back into the worker's private /tmp (the host's mount script):
// wiping that entry would delete the worker's own folder through the bind.
const underTmp = /^\/tmp\/([^/]+)\//.exec(workerDir + "/");
if (underTmp) keepInTmp(underTmp[1]);
setIdleHook(wipeTmp);

// A worker never outlives its host: if the host dies (even by SIGKILL) the worker is re-parented,
// notices within a second, and exits, instead of idling on as an orphan.
const hostPid = Deno.ppid;
const orphanCheck = setInterval(() => {
  if (Deno.ppid !== hostPid) Deno.exit(0);
}, 1000);
Deno.unrefTimer(orphanCheck);

// A function's stray exception must not take the worker (and other invocations) down with it.
globalThis.addEventListener("error", (event) => {
  event.preventDefault();
  logError(event.error ?? event.message, "uncaught exception");
});
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  logError(event.reason, "unhandled rejection");
});

try {
  Deno.mkdirSync(tmpDir, { recursive: true });
} catch {
  // Made by the host; without it only /tmp use fails, which the function will report.
}
try {
  Deno.removeSync(socketPath);
} catch {
  // No stale socket.
}

/**
 * Set-up that only the first load needs (~40 ms: node:http, node:async_hooks, process streams),
 * done after ISOLA_READY so a pre-started worker is ready sooner and loads still find it done.
 */
let deferred: Promise<void> | null = null;
function startDeferred(): Promise<void> {
  deferred ??= (async () => {
    await loadAsyncContext();
    const http = await import("node:http");
    installNodeListen(http, tmpDir);
    installNodeSandbox(await import("node:net"), (await import("node:os")).default, await import("node:dgram"));
    patchStreams();
    await warmUp();
    // The call channel is opened ahead of the first invocation; a host without one (the runtime's
    // own tests) is fine: calls then fail with HOST_UNAVAILABLE.
    connectHost();
  })();
  deferred.catch((error) => logError(error, "runtime set-up failed", null));
  return deferred;
}

serve({
  path: socketPath,
  onListen() {
    writeLine(READY_LINE);
    // After the current turn, so the READY line is out before the imports start.
    setTimeout(startDeferred, 0);
  },
  onError(error) {
    logError(error, "runtime error");
    return runtimeError(500, "FUNCTION_ERROR", String(error));
  },
}, (req, info) => {
  const target = targetOf(req.url);
  if (target.startsWith(CONTROL_PREFIX)) {
    const query = target.indexOf("?");
    return handleControl(req, query < 0 ? target : target.slice(0, query), startDeferred());
  }
  return handleInvocation(req, info, target);
});

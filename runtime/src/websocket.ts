// Functions see a rebuilt Request (envelope removed, url rewritten), but Deno.upgradeWebSocket
// only accepts the Request that Deno.serve produced. The patch maps one to the other: the
// invocation the upgrade runs in knows both (no table of every request, which the GC would have to
// walk for each one).
import { NativeWebSocket } from "./natives.ts";
import { waitUntil } from "./activity.ts";
import { currentInvocation } from "./context.ts";

const realUpgrade = Deno.upgradeWebSocket;

export function upgradeWebSocket(
  request: Request,
  options?: Deno.UpgradeWebSocketOptions,
): Deno.WebSocketUpgrade {
  const inv = currentInvocation();
  // An invocation that has answered no longer holds its requests (invoke.ts), and has nothing to upgrade.
  const upgrade = realUpgrade(inv && !inv.responded && inv.request === request ? inv.raw : request, options);
  // An open socket is the invocation still at work: it keeps its capability (ctx.db in message
  // handlers) and holds off the /tmp wipe until it closes.
  waitUntil(new Promise<void>((resolve) => upgrade.socket.addEventListener("close", () => resolve(), { once: true })));
  return upgrade;
}

export function installUpgradePatch(): void {
  Object.defineProperty(Deno, "upgradeWebSocket", {
    value: upgradeWebSocket,
    writable: true,
    configurable: true,
  });
}

export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/**
 * Relays messages between the caller's socket and one opened to the function's own server,
 * closing each side when the other closes. Resolves when both are closed. `early` holds what the
 * back socket received before the bridge existed (a server greeting sent right after the handshake).
 */
export function bridgeSockets(front: WebSocket, back: WebSocket, early: (string | ArrayBuffer | Blob)[] = []): Promise<void> {
  const queued: (string | ArrayBuffer | Blob)[] = early;
  back.binaryType = "arraybuffer";
  front.binaryType = "arraybuffer";
  front.onopen = () => {
    for (const message of queued.splice(0)) front.send(message);
  };
  back.onmessage = (event) => {
    if (front.readyState === NativeWebSocket.OPEN) front.send(event.data);
    else if (front.readyState === NativeWebSocket.CONNECTING) queued.push(event.data);
  };
  front.onmessage = (event) => {
    if (back.readyState === NativeWebSocket.OPEN) back.send(event.data);
  };
  // 1005/1006 describe a missing close frame and may not be sent, so they become a plain close.
  const closeOther = (other: WebSocket, event: CloseEvent) => {
    if (other.readyState === NativeWebSocket.CLOSED || other.readyState === NativeWebSocket.CLOSING) return;
    const sendable = event.code === 1000 || (event.code >= 3000 && event.code <= 4999);
    if (sendable) other.close(event.code, event.reason);
    else other.close();
  };
  const closed = (socket: WebSocket) =>
    new Promise<void>((resolve) => {
      if (socket.readyState === NativeWebSocket.CLOSED) resolve();
      else socket.addEventListener("close", () => resolve(), { once: true });
    });
  front.onclose = (event) => closeOther(back, event);
  back.onclose = (event) => closeOther(front, event);
  front.onerror = () => {};
  back.onerror = () => {};
  return Promise.all([closed(front), closed(back)]).then(() => {});
}

// ctx.realtime: push to the app's realtime WebSocket clients (docs/triggers.md, "Realtime WebSocket").
// The host holds the connections; the worker only asks it, with the invocation's capability.
import { hostCall } from "./host-calls.ts";

export interface Realtime {
  /** Sends `{"type":"message","data"}` to one connection of the app (e.g. `ctx.trigger.connectionId`), on any node. */
  send(connectionId: string, data: unknown): Promise<void>;
  /** Sends `{"type":"broadcast","channel","data"}` to every client of the app subscribed to `channel`, on every node. */
  broadcast(channel: string, data: unknown): Promise<void>;
}

/** ctx.realtime for one invocation. At most once: a client that is gone misses the message, without an error. */
export function invocationRealtime(capability: () => string | null): Realtime {
  return {
    async send(connectionId: string, data: unknown): Promise<void> {
      if (typeof connectionId !== "string" || connectionId === "") {
        throw new TypeError("ctx.realtime.send(connectionId, data): connectionId must be a string (ctx.trigger.connectionId)");
      }
      await hostCall(capability(), "realtime.send", { connectionId, data: data ?? null });
    },
    async broadcast(channel: string, data: unknown): Promise<void> {
      if (typeof channel !== "string" || channel === "") {
        throw new TypeError("ctx.realtime.broadcast(channel, data): channel must be a non-empty string");
      }
      await hostCall(capability(), "realtime.broadcast", { channel, data: data ?? null });
    },
  };
}

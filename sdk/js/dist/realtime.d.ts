import { type Connection } from "./connection.js";
import { IsolaError } from "./errors.js";
import type { FnArgs, FnResult, TypedQueryName } from "./registry.js";
/** A WebSocket class: the platform's (browsers, Deno, Node 22+; Node 20 with --experimental-websocket) or one passed in. */
export type WebSocketClass = new (url: string) => WebSocket;
export interface SendOptions {
    /** How long to wait for the first reply before rejecting with `NO_REPLY` (a function may answer with nothing). Default 10 s. */
    timeoutMs?: number;
}
/** A channel subscription or a live query; `close()` ends it. */
export interface Subscription {
    close(): Promise<void>;
}
/**
 * The app's realtime socket, `/v1/{app}/realtime` (docs/triggers.md "Realtime WebSocket"), opened on first use and
 * shared by every call. The credential goes in the URL (`?apikey=`, `?access_token=`), as browsers cannot set
 * headers on a WebSocket. A closed socket is not reopened by itself: the next call opens a new one, and
 * subscriptions of the old one must be made again (`onClose` says when).
 */
export declare class RealtimeClient {
    #private;
    constructor(connection: Connection, webSocket?: WebSocketClass);
    /** This connection's id (what `ctx.realtime.send` takes), once connected. */
    get connectionId(): string | undefined;
    /** Opens the socket now (every other call does it on first use); resolves once the node named the connection. */
    connect(): Promise<string>;
    /**
     * Sends `{"event", "data", "id"}`: every function whose websocket trigger names the event runs, as this client.
     * Resolves with the first reply's data; rejects with an {@link IsolaError} for an error reply (`NO_HANDLER`,
     * `FUNCTION_ERROR` …) or `NO_REPLY` when none came in time.
     */
    send(event: string, data?: unknown, options?: SendOptions): Promise<unknown>;
    /** Receives what functions `ctx.realtime.broadcast(channel, data)`; resolves once subscribed. */
    subscribe(channel: string, onMessage: (data: unknown) => void): Promise<Subscription>;
    /**
     * A live query: runs the typed query `fn` with `args` as this client and calls `onValue` with its result, then
     * again whenever a commit changes what it read and the result differs. Rejects with an {@link IsolaError} when the
     * node refuses it (`FUNCTION_NOT_FOUND`, `INVALID_ARGS`, `AUTH_REQUIRED` …); a later run's error goes to `onError`.
     * `close()` resolves once the node has confirmed: no value arrives after it.
     */
    live<Name extends TypedQueryName>(fn: Name, args: FnArgs<Name>, onValue: (value: FnResult<Name>) => void, onError?: (error: IsolaError) => void): Promise<Subscription>;
    /** Frames a function sent to this connection with `ctx.realtime.send(connectionId, data)`; returns a function that stops it. */
    onMessage(handler: (data: unknown) => void): () => void;
    /** Called when the socket closes (the node stopped: 1001, a token expired: 1008 …); returns a function that stops it. */
    onClose(handler: (code: number, reason: string) => void): () => void;
    /** Closes the socket; pending calls reject with `CLOSED`. */
    close(): Promise<void>;
}

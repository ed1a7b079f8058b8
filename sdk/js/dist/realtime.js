import { currentToken } from "./connection.js";
import { IsolaError } from "./errors.js";
/**
 * The app's realtime socket, `/v1/{app}/realtime` (docs/triggers.md "Realtime WebSocket"), opened on first use and
 * shared by every call. The credential goes in the URL (`?apikey=`, `?access_token=`), as browsers cannot set
 * headers on a WebSocket. A closed socket is not reopened by itself: the next call opens a new one, and
 * subscriptions of the old one must be made again (`onClose` says when).
 */
export class RealtimeClient {
    #connection;
    #WebSocket;
    #socket;
    #connectionId;
    #nextId = 0;
    #pending = new Map();
    #channels = new Map();
    #live = new Map();
    #messageHandlers = new Set();
    #closeHandlers = new Set();
    constructor(connection, webSocket) {
        this.#connection = connection;
        this.#WebSocket = webSocket ?? globalThis.WebSocket;
    }
    /** This connection's id (what `ctx.realtime.send` takes), once connected. */
    get connectionId() {
        return this.#connectionId;
    }
    /** Opens the socket now (every other call does it on first use); resolves once the node named the connection. */
    async connect() {
        await this.#open();
        return this.#connectionId;
    }
    /**
     * Sends `{"event", "data", "id"}`: every function whose websocket trigger names the event runs, as this client.
     * Resolves with the first reply's data; rejects with an {@link IsolaError} for an error reply (`NO_HANDLER`,
     * `FUNCTION_ERROR` …) or `NO_REPLY` when none came in time.
     */
    async send(event, data, options = {}) {
        const id = this.#id("m");
        const socket = await this.#open();
        // Registered before sending; replies arrive on a later turn of the event loop.
        const reply = this.#await(id, options.timeoutMs ?? 10_000);
        socket.send(JSON.stringify({ event, data: data ?? null, id }));
        const frame = await reply;
        return frame["data"];
    }
    /** Receives what functions `ctx.realtime.broadcast(channel, data)`; resolves once subscribed. */
    async subscribe(channel, onMessage) {
        let handlers = this.#channels.get(channel);
        const first = handlers === undefined;
        if (handlers === undefined) {
            handlers = new Set();
            this.#channels.set(channel, handlers);
        }
        handlers.add(onMessage);
        if (first) {
            try {
                await this.#request({ type: "subscribe", channel });
            }
            catch (error) {
                handlers.delete(onMessage);
                if (handlers.size === 0 && this.#channels.get(channel) === handlers) {
                    this.#channels.delete(channel);
                }
                throw error;
            }
        }
        return {
            close: async () => {
                handlers.delete(onMessage);
                if (handlers.size === 0 && this.#channels.get(channel) === handlers) {
                    this.#channels.delete(channel);
                    await this.#request({ type: "unsubscribe", channel });
                }
            },
        };
    }
    /**
     * A live query: runs the typed query `fn` with `args` as this client and calls `onValue` with its result, then
     * again whenever a commit changes what it read and the result differs. Rejects with an {@link IsolaError} when the
     * node refuses it (`FUNCTION_NOT_FOUND`, `INVALID_ARGS`, `AUTH_REQUIRED` …); a later run's error goes to `onError`.
     * `close()` resolves once the node has confirmed: no value arrives after it.
     */
    async live(fn, args, onValue, onError = () => { }) {
        const id = this.#id("q");
        const socket = await this.#open();
        const first = new Promise((resolve, reject) => {
            let settled = false;
            this.#live.set(id, {
                onValue: (value) => {
                    onValue(value);
                    if (!settled) {
                        settled = true;
                        resolve();
                    }
                },
                onError: (error) => {
                    if (!settled) {
                        settled = true;
                        this.#live.delete(id);
                        reject(error);
                    }
                    else {
                        onError(error);
                    }
                },
            });
        });
        socket.send(JSON.stringify({ type: "subscribe", id, fn, args }));
        await first;
        return {
            // Resolves on the node's {"type": "unsubscribed"}: no value is pushed after it.
            close: async () => {
                if (this.#live.delete(id)) {
                    const socket = await this.#open();
                    const unsubscribed = this.#await(unsubscribedKey(id), 10_000);
                    socket.send(JSON.stringify({ type: "unsubscribe", id }));
                    await unsubscribed;
                }
            },
        };
    }
    /** Frames a function sent to this connection with `ctx.realtime.send(connectionId, data)`; returns a function that stops it. */
    onMessage(handler) {
        this.#messageHandlers.add(handler);
        return () => this.#messageHandlers.delete(handler);
    }
    /** Called when the socket closes (the node stopped: 1001, a token expired: 1008 …); returns a function that stops it. */
    onClose(handler) {
        this.#closeHandlers.add(handler);
        return () => this.#closeHandlers.delete(handler);
    }
    /** Closes the socket; pending calls reject with `CLOSED`. */
    async close() {
        const socket = this.#socket;
        this.#socket = undefined;
        if (socket !== undefined) {
            (await socket.catch(() => undefined))?.close(1000);
        }
    }
    #id(prefix) {
        return `${prefix}${++this.#nextId}`;
    }
    async #request(message) {
        const id = this.#id("s");
        const socket = await this.#open();
        const reply = this.#await(id, 10_000);
        socket.send(JSON.stringify({ ...message, id }));
        return await reply;
    }
    #await(id, timeoutMs) {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.#pending.delete(id);
                reject(new IsolaError("NO_REPLY", `no reply to '${id}' within ${timeoutMs} ms`, 0));
            }, timeoutMs);
            this.#pending.set(id, {
                resolve: (frame) => {
                    clearTimeout(timer);
                    resolve(frame);
                },
                reject: (error) => {
                    clearTimeout(timer);
                    reject(error);
                },
            });
        });
    }
    #open() {
        this.#socket ??= this.#connect();
        return this.#socket;
    }
    async #connect() {
        if (this.#WebSocket === undefined) {
            throw new Error("no WebSocket class here: pass createClient(url, { WebSocket }) (Node 20 also has one with --experimental-websocket)");
        }
        const query = new URLSearchParams();
        if (this.#connection.apiKey !== undefined) {
            query.set("apikey", this.#connection.apiKey);
        }
        const token = await currentToken(this.#connection);
        if (token !== undefined) {
            query.set("access_token", token);
        }
        const url = `${this.#connection.url.replace(/^http/, "ws")}/v1/${encodeURIComponent(this.#connection.app)}/realtime` +
            (query.size > 0 ? `?${query}` : "");
        const socket = new this.#WebSocket(url);
        return await new Promise((resolve, reject) => {
            socket.onmessage = (event) => {
                const frame = parse(event.data);
                if (frame?.["type"] === "connected" && typeof frame["connectionId"] === "string") {
                    this.#connectionId = frame["connectionId"];
                    resolve(socket);
                }
                else if (frame !== undefined) {
                    this.#dispatch(frame);
                }
            };
            socket.onerror = () => reject(new IsolaError("CONNECT_FAILED", `could not open ${url.replace(/\?.*/, "")}`, 0));
            socket.onclose = (event) => {
                reject(new IsolaError("CLOSED", `the socket closed (${event.code} ${event.reason})`, 0));
                this.#closed(socket, event.code, event.reason);
            };
        });
    }
    #dispatch(frame) {
        const replyTo = frame["replyTo"];
        const error = frame["error"];
        if (frame["type"] === "broadcast" && typeof frame["channel"] === "string") {
            for (const handler of this.#channels.get(frame["channel"]) ?? []) {
                handler(frame["data"]);
            }
        }
        else if (frame["type"] === "message") {
            for (const handler of this.#messageHandlers) {
                handler(frame["data"]);
            }
        }
        else if (frame["type"] === "result" && typeof frame["id"] === "string") {
            this.#live.get(frame["id"])?.onValue(frame["value"]);
        }
        else if (frame["type"] === "unsubscribed" && typeof frame["id"] === "string" && this.#pending.has(unsubscribedKey(frame["id"]))) {
            const pending = this.#pending.get(unsubscribedKey(frame["id"]));
            this.#pending.delete(unsubscribedKey(frame["id"]));
            pending.resolve(frame);
        }
        else if (frame["type"] === "error" && typeof frame["id"] === "string" && this.#live.has(frame["id"])) {
            this.#live.get(frame["id"]).onError(new IsolaError(error?.code ?? "ERROR", error?.message ?? "", 0));
        }
        else if (typeof replyTo === "string" && this.#pending.has(replyTo)) {
            const pending = this.#pending.get(replyTo);
            this.#pending.delete(replyTo);
            if (error !== undefined) {
                pending.reject(new IsolaError(error.code ?? "ERROR", error.message ?? "", 0));
            }
            else {
                pending.resolve(frame);
            }
        }
    }
    #closed(socket, code, reason) {
        if (this.#socket !== undefined) {
            void this.#socket.then((current) => {
                if (current === socket) {
                    this.#socket = undefined;
                }
            }, () => (this.#socket = undefined));
        }
        for (const [id, pending] of this.#pending) {
            this.#pending.delete(id);
            pending.reject(new IsolaError("CLOSED", `the socket closed (${code} ${reason})`, 0));
        }
        this.#channels.clear();
        const live = [...this.#live.values()];
        this.#live.clear();
        for (const query of live) {
            query.onError(new IsolaError("CLOSED", `the socket closed (${code} ${reason})`, 0));
        }
        for (const handler of this.#closeHandlers) {
            handler(code, reason);
        }
    }
}
/** Where a live query's `close()` waits for its `unsubscribed` frame, apart from replies (keyed by their `replyTo`). */
function unsubscribedKey(id) {
    return `unsubscribed:${id}`;
}
function parse(data) {
    if (typeof data !== "string") {
        return undefined;
    }
    try {
        const value = JSON.parse(data);
        return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
    }
    catch {
        return undefined;
    }
}

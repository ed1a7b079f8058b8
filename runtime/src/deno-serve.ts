// Shape 1: a function that calls Deno.serve at top level. The call is captured instead of opening
// a port, and the caller gets an object that behaves like a Deno.HttpServer.

export type ServeHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo,
) => Response | Promise<Response>;

export interface CapturedServe {
  handler: ServeHandler;
  onError?: (error: unknown) => Response | Promise<Response>;
}

interface ServeOptionsLike {
  handler?: unknown;
  onError?: unknown;
  onListen?: unknown;
  signal?: AbortSignal;
  port?: number;
  hostname?: string;
  path?: string;
}

let captured: CapturedServe | null = null;

export function capturedServe(): CapturedServe | null {
  return captured;
}

function fakeServer(options: ServeOptionsLike): Deno.HttpServer {
  const addr: Deno.Addr = typeof options.path === "string"
    ? { transport: "unix", path: options.path }
    : { transport: "tcp", hostname: options.hostname ?? "0.0.0.0", port: options.port ?? 8000 };
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const shutdown = (): Promise<void> => {
    finish();
    return finished;
  };
  options.signal?.addEventListener("abort", shutdown, { once: true });
  if (typeof options.onListen === "function") {
    const onListen = options.onListen;
    // Deno calls onListen once the socket is bound, i.e. after serve() returned.
    queueMicrotask(() => onListen(addr));
  }
  const server = {
    addr,
    finished,
    shutdown,
    ref() {},
    unref() {},
    [Symbol.asyncDispose]: shutdown,
  };
  return server as unknown as Deno.HttpServer;
}

/** Replaces Deno.serve; must run before the bundle is imported. */
export function installServeCapture(): void {
  function serve(first?: unknown, second?: unknown): Deno.HttpServer {
    let options: ServeOptionsLike;
    let handler: unknown;
    if (typeof first === "function") {
      options = {};
      handler = first;
    } else {
      options = (first ?? {}) as ServeOptionsLike;
      handler = typeof second === "function" ? second : options.handler;
    }
    if (typeof handler !== "function") {
      throw new TypeError("A handler function must be provided.");
    }
    // The first server is the function; later calls (rare) still get a server object back.
    captured ??= {
      handler: handler as ServeHandler,
      onError: typeof options.onError === "function"
        ? (options.onError as CapturedServe["onError"])
        : undefined,
    };
    return fakeServer(options);
  }
  Object.defineProperty(Deno, "serve", { value: serve, writable: true, configurable: true });
}

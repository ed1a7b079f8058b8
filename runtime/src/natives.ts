// Web classes as they were before the function ran. Libraries replace some of them (e.g.
// @hono/node-server installs its own global Response), and Deno.serve only accepts native ones,
// so everything the runtime builds or checks uses these.
export const NativeResponse = globalThis.Response;
export const NativeRequest = globalThis.Request;
export const NativeHeaders = globalThis.Headers;
export const NativeWebSocket = globalThis.WebSocket;

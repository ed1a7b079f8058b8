// The bare Deno behind the C# hop: the same module, served on a Unix socket.
// Usage: deno run --allow-net=unix:SOCKET_PATH --allow-read=DIR --allow-write=DIR deno-unix.js SOCKET_PATH
import hello from "./hello.js";

const path = Deno.args[0];
if (!path) {
  console.error("usage: deno-unix.js SOCKET_PATH");
  Deno.exit(2);
}
Deno.serve({ path, onListen() {} }, hello.fetch);

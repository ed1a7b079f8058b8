// Bare Deno baseline (the ceiling): Deno.serve on 127.0.0.1:PORT with the shared module.
// Usage: deno run --allow-net=127.0.0.1 deno-tcp.js PORT
import hello from "./hello.js";

const port = Number(Deno.args[0]);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: deno-tcp.js PORT");
  Deno.exit(2);
}
Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, hello.fetch);

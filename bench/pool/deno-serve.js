// Bare Deno baseline of bench/pool: Deno.serve on 127.0.0.1:PORT with the module that Isola runs as a function.
// Usage: deno run --allow-net=127.0.0.1 --allow-read=MODULE deno-serve.js MODULE PORT
const [module, portArg] = Deno.args;
const port = Number(portArg);
if (!module || !Number.isInteger(port) || port <= 0) {
  console.error("usage: deno-serve.js MODULE PORT");
  Deno.exit(2);
}
const served = (await import(new URL(module, `file://${Deno.cwd()}/`).href)).default;
Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, served.fetch);

// The host's end of a worker's call channel (<workerDir>/host.sock, runtime/PROTOCOL.md "Calls"),
// reduced to what the hello function exercises: it takes the runtime's batched `release` frames,
// so the worker does the per-invocation release work it does under the real host. It answers no
// calls. On SIGTERM it prints how many capabilities were released.
// Usage: deno run --allow-net=unix:SOCKET --allow-read=DIR --allow-write=DIR host-stub.ts SOCKET
const path = Deno.args[0];
if (!path) {
  console.error("usage: host-stub.ts SOCKET");
  Deno.exit(2);
}
let released = 0;
let frames = 0;
Deno.addSignalListener("SIGTERM", () => {
  console.log(JSON.stringify({ releaseFrames: frames, released }));
  Deno.exit(0);
});
const listener = Deno.listen({ transport: "unix", path });
console.log("listening");
for await (const conn of listener) {
  (async () => {
    let carry = "";
    for await (const chunk of conn.readable.pipeThrough(new TextDecoderStream())) {
      carry += chunk;
      let newline: number;
      while ((newline = carry.indexOf("\n")) >= 0) {
        const frame = JSON.parse(carry.slice(0, newline)) as { op: string; args?: { caps?: string[] } };
        carry = carry.slice(newline + 1);
        if (frame.op === "release") {
          frames++;
          released += frame.args?.caps?.length ?? 0;
        }
      }
    }
  })().catch((error) => console.error(String(error)));
}

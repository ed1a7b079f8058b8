// The CPU-bound function of budget P9, served by Isola (deployed as a function) and by bare Deno
// (bench/pool/deno-serve.js): about 20 ms of JSON work per request, stringify and parse of a generated
// object in a loop, then a small JSON answer. A fixed amount of work, not a fixed time, so a slower
// server answers fewer requests instead of doing less per request.
const ROUNDS = 160;
const order = {
  id: "order-1",
  lines: Array.from({ length: 200 }, (_, i) => ({ sku: `sku-${i}`, quantity: i % 7, price: i * 1.25, tags: ["a", "b", "c"] })),
};

export default {
  fetch() {
    let total = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const copy = JSON.parse(JSON.stringify(order));
      total += copy.lines.length;
    }
    return Response.json({ total });
  },
};

// The module every baseline serves: the same JSON as the Isola function under test
// (`export default () => Response.json({ message: "Hello!" })`), in the `export default { fetch }`
// shape that both workerd and Deno.serve accept.
export default {
  fetch() {
    return Response.json({ message: "Hello!" });
  },
};

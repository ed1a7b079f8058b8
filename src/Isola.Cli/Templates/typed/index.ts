// __NAME__: a typed function (docs/typed-functions.md): its arguments are checked before it runs, and it is
// called by name: `isola invoke __NAME__ '{"a": 2, "b": 3}'`, IsolaClient.CallAsync, or POST /v1/{app}/api/fn/__NAME__.
import { query, v } from "@isola/functions";

export default query({
  auth: "public",
  args: { a: v.float(), b: v.float() },
  // What it returns: checked before the answer, and the result's type in `isola types generate`'s output.
  returns: v.object({ sum: v.float() }),
  handler(_ctx, args) {
    return { sum: args.a + args.b };
  },
});

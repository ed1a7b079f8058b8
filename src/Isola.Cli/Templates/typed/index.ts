// __NAME__: takes JSON arguments and returns JSON, checking them first.
// Call it with `isola invoke __NAME__ POST '{"a": 2, "b": 3}'`, or IsolaClient.CallAsync / callFn.
type Args = { a: number; b: number };
type Result = { sum: number };

function parse(value: unknown): Args {
  const args = value as Partial<Args> | null;
  if (typeof args?.a !== "number" || typeof args?.b !== "number") {
    throw new TypeError("expected { a: number, b: number }");
  }
  return { a: args.a, b: args.b };
}

export default async function handler(req: Request): Promise<Response> {
  let args: Args;
  try {
    args = parse(await req.json());
  } catch (error) {
    return Response.json({ error: (error as Error).message }, { status: 400 });
  }
  const result: Result = { sum: args.a + args.b };
  return Response.json(result);
}

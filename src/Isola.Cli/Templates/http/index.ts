// __NAME__: an HTTP function. Call it with `isola invoke __NAME__ POST '{"name": "Ada"}'`.
export default async function handler(req: Request): Promise<Response> {
  const body = req.method === "POST" ? await req.json().catch(() => ({})) : {};
  const name = typeof body.name === "string" ? body.name : "world";
  return Response.json({ message: `Hello, ${name}!` });
}

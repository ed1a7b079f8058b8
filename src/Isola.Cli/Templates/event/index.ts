// __NAME__: runs for every "__NAME__.requested" event. Publish one with
// `isola events emit __NAME__.requested '{"id": 1}'`; `isola logs __NAME__` shows each delivery.
export default async function handler(req: Request): Promise<Response> {
  const event = await req.json().catch(() => null);
  console.log("__NAME__ received", JSON.stringify(event));
  return Response.json({ ok: true });
}

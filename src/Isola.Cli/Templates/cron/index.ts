// __NAME__: runs on the schedule set in isola.toml ([functions.__NAME__] triggers); `isola logs __NAME__` shows each run.
export default async function handler(req: Request, ctx: { trigger?: { type: string } }): Promise<Response> {
  console.log(`__NAME__ ran (${ctx.trigger?.type ?? "http"}) at ${new Date().toISOString()}`);
  return Response.json({ ok: true });
}

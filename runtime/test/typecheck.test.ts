// The runtime is strict TypeScript; `deno run` does not type-check, so this test does.
import { assert } from "./assert.ts";
import { DENO, DENO_DIR, REPO } from "./harness.ts";

Deno.test("runtime type-checks (strict)", async () => {
  const out = await new Deno.Command(DENO, {
    args: ["check", "--no-config", "--no-lock", "--quiet", `${REPO}/runtime/bootstrap.ts`, `${REPO}/runtime/functions/mod.ts`],
    env: { DENO_DIR, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
});

Deno.test("exported runtime types do not use any", async () => {
  const offenders: string[] = [];
  for (const folder of ["src", "functions"]) {
    for await (const entry of Deno.readDir(`${REPO}/runtime/${folder}`)) {
      const text = await Deno.readTextFile(`${REPO}/runtime/${folder}/${entry.name}`);
      text.split("\n").forEach((line, i) => {
        if (/\bany\b/.test(line.replace(/\/\/.*$/, "")) && /:\s*any\b|<any>|as any\b|any\[\]/.test(line)) {
          offenders.push(`${folder}/${entry.name}:${i + 1}: ${line.trim()}`);
        }
      });
    }
  }
  assert(offenders.length === 0, offenders.join("\n"));
});

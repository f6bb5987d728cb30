/**
 * Brings the `test` stack up for real, once, for the whole e2e suite:
 * a fresh embedded PostgreSQL (data directory reset), a fresh stack state,
 * then `pulumi up`. Outputs (secrets included) go to .local/test/outputs.json
 * (mode 0600, git-ignored) for the tests to connect with.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { catalog, OUTPUTS_FILE, pulumi, ROOT, saveOutputs, STACK } from "./harness";

function step(message: string): void {
  process.stderr.write(`==> e2e: ${message}\n`);
}

export default async function setup(): Promise<() => void> {
  step("removing any previous test stack state");
  pulumi(["stack", "rm", "--yes", "--force", "--preserve-config"], { allowFailure: true });
  step("starting a fresh embedded PostgreSQL for the test stack");
  for (const cmd of ["reset", "start"]) {
    const res = spawnSync(join(ROOT, "node_modules/.bin/tsx"), ["scripts/local-server.ts", cmd, STACK], {
      cwd: ROOT,
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (res.status !== 0) throw new Error(`local-server ${cmd} ${STACK} failed`);
  }
  const before = await catalog();
  mkdirSync(dirname(OUTPUTS_FILE), { recursive: true });
  writeFileSync(join(dirname(OUTPUTS_FILE), "catalog-before.json"), JSON.stringify(before, null, 2));
  step("pulumi up (test stack)");
  const up = pulumi(["up", "--yes", "--skip-preview"]);
  writeFileSync(join(dirname(OUTPUTS_FILE), "up.log"), up.output);
  saveOutputs();
  step("test stack is up");
  return teardown;
}

/** Stops the test stack's server when the suite ends (its data stays for a post-mortem). */
export function teardown(): void {
  spawnSync(join(ROOT, "node_modules/.bin/tsx"), ["scripts/local-server.ts", "stop", STACK], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
  });
}

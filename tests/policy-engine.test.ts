/**
 * The policy pack through the real engine, on a scratch copy of the test stack
 * (program-stack.ts): `pulumi preview` with the pack passes on the program as
 * it is, and a mandatory violation fails the preview, naming the policy and
 * the resource.
 *
 * How the engine runs the pack here: `--policy-pack policy` (a directory)
 * makes the engine start the pack through the Node.js language host, which
 * cannot be built from the Go modules reachable on this machine; the last test
 * records that. `--policy-pack policy/analyzer.sh` (an executable) takes the
 * engine's binary-analyzer path instead (NewPolicyAnalyzer in the pinned
 * engine): the engine starts the script, which starts the same pack with
 * @pulumi/pulumi's run-policy-pack, as the language host would; the engine
 * then sends it every resource and enforces its verdicts.
 *
 * The scratch stack's name is not an environment, so the environment comes
 * from --policy-pack-config (docs/cloud.md): `test` for a clean run; `prod` for
 * database-naming makes `gdpr_test` a violation of ADR-0060's names.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { policies } from "../policy/policies";
import { ProgramStack, startProgramStack } from "./helpers/program-stack";

let stack: ProgramStack;
beforeAll(async () => {
  stack = await startProgramStack();
}, 240_000);
afterAll(() => stack?.stop());

/** --policy-pack-config: every resource policy told the environment, some overridden. */
function policyConfig(file: string, overrides: Record<string, string> = {}): string {
  const config = Object.fromEntries(
    policies
      .filter((p) => "validateResource" in p)
      .map((p) => [p.name, { environment: overrides[p.name] ?? "test" }]),
  );
  const path = join(stack.root, file);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

const preview = (...args: string[]) => stack.exec("scripts/pulumi.sh", [stack.name, "preview", ...args]);

describe("the policy pack through the real engine (pulumi preview)", () => {
  it("passes on the program as it is", async () => {
    const r = await preview(
      "--policy-pack",
      "policy/analyzer.sh",
      "--policy-pack-config",
      policyConfig("clean.json"),
    );
    expect(r.code, r.output).toBe(0);
    // The engine loaded the pack and it passed.
    expect(r.output).toMatch(/✅ platform-databases@v[\d.]+ \(local: policy\/analyzer\.sh\)/);
    expect(r.output).not.toMatch(/\[mandatory\]/);
  }, 240_000);

  it("fails the preview on a mandatory violation, naming the policy and the resource", async () => {
    const r = await preview(
      "--policy-pack",
      "policy/analyzer.sh",
      "--policy-pack-config",
      policyConfig("prod-names.json", { "database-naming": "prod" }),
    );
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(
      /\[mandatory\]\s+database-naming\s+\(postgresql:index:Database: platform-gdpr-database\)/,
    );
    expect(r.output).toContain('postgresql:index/database:Database "platform-gdpr-database"');
    expect(r.output).toContain("gdpr_test");
    expect(r.output).toContain("error: preview failed");
    // The other policies, told `test`, found nothing.
    expect(r.output).not.toMatch(/\[mandatory\]\s+role-naming/);
  }, 240_000);

  it("the directory form needs the Node.js language host; where it is missing the engine says so", async () => {
    const host = spawnSync("sh", ["-c", "command -v pulumi-language-nodejs"]).status === 0;
    const r = await preview("--policy-pack", "policy", "--policy-pack-config", policyConfig("dir.json"));
    if (host) {
      expect(r.code, r.output).toBe(0);
    } else {
      expect(r.code).not.toBe(0);
      expect(r.output).toContain("no language plugin 'pulumi-language-nodejs' found");
    }
  }, 240_000);
});

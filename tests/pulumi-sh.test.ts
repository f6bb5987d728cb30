/**
 * scripts/pulumi.sh with a cloud stack and a backend the caller names (CI, the
 * deploy Job): that backend is used as it is, and a stack missing there is an
 * error, never created on the fly (a typo must not start an empty prod).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(__dirname, "..");
const backend = mkdtempSync(join(tmpdir(), "backend-"));
afterAll(() => rmSync(backend, { recursive: true, force: true }));

describe("scripts/pulumi.sh, cloud stack, caller's backend", () => {
  it("does not create a stack the backend lacks", () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PULUMI_")));
    const r = spawnSync(join(ROOT, "scripts/pulumi.sh"), ["staging", "stack", "output"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...env, PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "x" },
    });
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`stack staging not found in the backend file://${backend}`);
    // Nothing was created in the backend.
    expect(
      existsSync(join(backend, ".pulumi", "stacks")) ? readdirSync(join(backend, ".pulumi", "stacks")) : [],
    ).toEqual([]);
  }, 60_000);
});

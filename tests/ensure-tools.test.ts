/**
 * scripts/ensure-tools.sh (make test-tools) with stand-in installers in a
 * scratch copy of scripts/: it runs TOOL_JOBS of them at a time, stays silent
 * for cached tools, reports what it built, and when one fails it lets the
 * others finish, prints the failed one's log and exits non-zero.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "ensure-tools-"));
copyFileSync(resolve(__dirname, "..", "scripts", "ensure-tools.sh"), join(dir, "ensure-tools.sh"));
chmodSync(join(dir, "ensure-tools.sh"), 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in installer: records when it ran, waits for `gate` (a file) if given, then behaves as asked. */
function installer(name: string, body: string) {
  const file = join(dir, `ensure-${name}.sh`);
  writeFileSync(
    file,
    `#!/usr/bin/env bash\necho "start ${name}" >> "${dir}/order"\n${body}\necho "end ${name}" >> "${dir}/order"\n`,
  );
  chmodSync(file, 0o755);
}

function run(tools: string[], jobs: number) {
  writeFileSync(join(dir, "order"), "");
  const r = spawnSync(join(dir, "ensure-tools.sh"), tools, {
    encoding: "utf8",
    env: { ...process.env, TOOL_JOBS: String(jobs) },
  });
  return { ...r, order: readFileSync(join(dir, "order"), "utf8").trim().split("\n") };
}

describe("scripts/ensure-tools.sh", () => {
  it("runs two at a time: the second starts before the first ends; cached tools print nothing", () => {
    // slow waits until fast has started: only possible when both run at once.
    installer(
      "slow",
      `for i in $(seq 100); do grep -q "start fast" "${dir}/order" && break; sleep 0.05; done\n` +
        `grep -q "start fast" "${dir}/order" || exit 9\necho "ensure-slow: built in 1s" >&2`,
    );
    installer("fast", "true");
    installer("cached", "true");
    const r = run(["slow", "fast", "cached"], 2);
    expect(r.stderr).toContain("ensure-slow: built in 1s\nensure-tools: slow ready in ");
    expect(r.stderr).not.toContain("fast");
    expect(r.stderr).not.toContain("cached");
    expect(r.status).toBe(0);
    expect(r.order.indexOf("start fast")).toBeLessThan(r.order.indexOf("end slow"));
  });

  it("a failure lets the others finish, prints its log and exits non-zero", () => {
    installer("broken", 'echo "ensure-broken: go build failed: missing module" >&2\nexit 3');
    installer("fine", "sleep 0.3");
    installer("later", "true");
    const r = run(["broken", "fine", "later"], 2);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("ensure-tools: broken FAILED (exit 3)");
    expect(r.stderr).toContain("  | ensure-broken: go build failed: missing module");
    expect(r.stderr).toContain("ensure-tools: failed: broken");
    // The others ran to the end.
    expect(r.order).toContain("end fine");
    expect(r.order).toContain("end later");
  });

  it("refuses a tool it has no installer for, before running any", () => {
    installer("fine", "true");
    const r = run(["fine", "nosuch"], 2);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("ensure-tools: no scripts/ensure-nosuch.sh\n");
    expect(r.order).toEqual([""]);
  });
});

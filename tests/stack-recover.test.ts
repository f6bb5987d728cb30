/**
 * scripts/stack-recover.ts's decisions (scripts/lib/recover-plan.ts) and its
 * file-backend lock lookup; the whole recovery on the real engine and server
 * is in tests/faults.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  isEnginePlugin,
  isPulumiCli,
  lockVerdict,
  PendingOperation,
  planPending,
  settledState,
} from "../scripts/lib/recover-plan";
import { fileBackendDir, isPulumiProcess, lockFiles } from "../scripts/stack-recover";

const op = (
  type: string,
  resourceType: string,
  name: string,
  inputs: Record<string, unknown> = {},
): PendingOperation => ({
  type,
  resource: { urn: `urn:pulumi:s::p::${resourceType}::${name}`, type: resourceType, inputs },
});

describe("lockVerdict", () => {
  it("dead when its pid is no pulumi on this host, live when it is, foreign on another host", () => {
    const lock = { pid: 4242, hostname: "vm" };
    expect(lockVerdict(lock, "vm", () => false)).toBe("dead");
    expect(lockVerdict(lock, "vm", (pid) => pid === 4242)).toBe("live");
    expect(lockVerdict(lock, "other", () => false)).toBe("foreign");
    expect(lockVerdict({ pid: 0, hostname: "vm" }, "vm", () => true)).toBe("dead");
  });

  it("a reused pid of another program is not a live pulumi", () => {
    expect(isPulumiProcess(process.pid)).toBe(false); // this is node, not pulumi
    expect(isPulumiCli(["/root/.cache/platform-databases/pulumi-3.276.0/bin/pulumi", "up"])).toBe(true);
    expect(isPulumiCli(["pulumi-resource-postgresql"])).toBe(false);
  });
});

describe("planPending", () => {
  it("adopts roles and databases by name, recreates the rest, settles updates and deletes", () => {
    const plan = planPending([
      op("creating", "postgresql:index/database:Database", "platform-a-database", { name: "a_test" }),
      op("creating", "postgresql:index/role:Role", "platform-a-login", { name: "a_test_app" }),
      op("creating", "postgresql:index/grant:Grant", "platform-a-connect"),
      op("creating", "pulumi-nodejs:dynamic/platform-databases:GeneratedPassword", "platform-a-password"),
      op("creating", "postgresql:index/role:Role", "platform-b-login", {}),
      op("updating", "postgresql:index/role:Role", "platform-c-login", { name: "c" }),
      op("deleting", "postgresql:index/database:Database", "platform-d-database", { name: "d" }),
    ]);
    expect(plan.imports.map((i) => i.id)).toEqual(["a_test", "a_test_app"]);
    expect(plan.clears.map((u) => u.split("::").pop())).toEqual([
      "platform-a-connect",
      "platform-a-password",
      "platform-b-login", // no name to adopt it by: created again
    ]);
    expect(plan.settles.map((u) => u.split("::").pop())).toEqual(["platform-c-login", "platform-d-database"]);
  });

  it("settledState records the adopted objects with their ids and leaves nothing pending", () => {
    const ops = [
      op("creating", "postgresql:index/database:Database", "platform-a-database", { name: "a_test" }),
      op("creating", "postgresql:index/grant:Grant", "platform-a-connect"),
    ];
    const exported = {
      version: 3,
      deployment: { manifest: {}, resources: [{ urn: "stack" }], pending_operations: ops },
    };
    const after = settledState(exported, planPending(ops));
    expect(after.deployment.pending_operations).toEqual([]);
    expect(after.deployment.resources).toEqual([{ urn: "stack" }, { ...ops[0].resource, id: "a_test" }]);
    expect(after.version).toBe(3);
    expect(exported.deployment.pending_operations).toHaveLength(2); // the input is not changed
  });
});

describe("plugins and locks", () => {
  it("recognises the engine's plugin processes by their command line", () => {
    expect(isEnginePlugin(["/root/.cache/x/bin/pulumi-resource-postgresql", "127.0.0.1:1"])).toBe(true);
    expect(
      isEnginePlugin([
        "/bin/sh",
        "/c/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs",
        "127.0.0.1:1",
      ]),
    ).toBe(true);
    expect(
      isEnginePlugin(["node", "/c/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js", "127.0.0.1:1"]),
    ).toBe(true);
    expect(isEnginePlugin(["node", "/c/node_modules/.bin/vitest"])).toBe(false);
  });

  const dir = mkdtempSync(join(tmpdir(), "locks-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds a stack's lock files in either file-backend layout, and no other stack's", () => {
    const a = join(dir, ".pulumi/locks/organization/platform-databases/dev");
    const b = join(dir, ".pulumi/locks/platform-databases/dev");
    const other = join(dir, ".pulumi/locks/organization/platform-databases/dev2");
    for (const d of [a, b, other]) mkdirSync(d, { recursive: true });
    writeFileSync(join(a, "1.json"), "{}");
    writeFileSync(join(a, "1.json.attrs"), "{}");
    writeFileSync(join(b, "2.json"), "{}");
    writeFileSync(join(other, "3.json"), "{}");
    expect(
      lockFiles(dir, "dev")
        .map((f) => f.slice(dir.length))
        .sort(),
    ).toEqual([
      "/.pulumi/locks/organization/platform-databases/dev/1.json",
      "/.pulumi/locks/platform-databases/dev/2.json",
    ]);
  });

  it("knows which backends are files it can look into", () => {
    expect(fileBackendDir({ PULUMI_BACKEND_URL: "file:///srv/state?no_tmp_dir=true" })).toBe("/srv/state");
    expect(fileBackendDir({ PULUMI_BACKEND_URL: "gs://bucket" })).toBeUndefined();
    expect(fileBackendDir({ PULUMI_ACCESS_TOKEN: "pul-x" })).toBeUndefined();
    expect(fileBackendDir({})).toMatch(/\.local\/state$/);
  });
});

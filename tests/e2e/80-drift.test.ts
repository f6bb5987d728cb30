/**
 * `make drift STACK=test` on the real test stack (docs/operations.md): clean
 * after the suite's `up`; after hand-made changes (a grant, a connection
 * limit, a dropped role) it names each (resource, property, stack value, live
 * value) with the checks they fail and exits 1; `pulumi up --refresh` (what
 * `make up` runs) repairs them and drift is clean again; with the server
 * stopped it exits 2 naming the cause. The server and stack are left as they
 * were for the files after this one.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { config, make, pulumi, ROOT, server, STACK, superuser } from "./harness";

function localServer(command: "start" | "stop") {
  const r = spawnSync(join(ROOT, "node_modules/.bin/tsx"), ["scripts/local-server.ts", command, STACK], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
}

describe("make drift on the test stack", () => {
  it("is clean after the suite's up", () => {
    const r = make("drift", `STACK=${STACK}`);
    expect(r.status, r.output).toBe(0);
    expect(r.stdout).toContain(`stack ${STACK} is clean`);
  });

  it("names a hand-made grant, connection limit and dropped role; pulumi up --refresh repairs them", async () => {
    const services = config().services;
    const gdpr = services.find((s) => s.name === "gdpr")!;
    const openfga = services.find((s) => s.name === "openfga")!;
    const c = await superuser(gdpr.database);
    try {
      await c.query(`GRANT CREATE ON SCHEMA public TO ${gdpr.loginRole}`);
      await c.query(`ALTER ROLE ${openfga.loginRole} CONNECTION LIMIT 5`);
      // What a person dropping a role does: its privileges first, then the role.
      await c.query(`DROP OWNED BY ${gdpr.retentionRole}`);
      await c.query(`DROP ROLE ${gdpr.retentionRole}`);
    } finally {
      await c.end();
    }

    const r = make("drift", `STACK=${STACK}`);
    // scripts/drift.ts exits 1 (drift); make reports it as its recipe's error 1.
    expect(r.status, r.output).not.toBe(0);
    expect(r.output).toMatch(/drift\] Error 1/);
    const lines = r.stdout.split("\n").map((l) => l.trim());
    for (const expected of [
      `postgresql:Grant platform-gdpr-schema-usage (grant to ${gdpr.loginRole} on schema public in database ${gdpr.database}): privileges: stack ["USAGE"], live ["CREATE","USAGE"]`,
      `postgresql:Role platform-openfga-role (role ${openfga.loginRole}): connectionLimit: stack 25, live 5`,
      `postgresql:Role platform-gdpr-retention-role (role ${gdpr.retentionRole}): missing on the server`,
      `privileges ${gdpr.loginRole}: has CREATE on schema public of ${gdpr.database} (managed-schema: DML only)`,
      `retention-role ${gdpr.retentionRole}: retention role ${gdpr.retentionRole} does not exist`,
      `repair: make up STACK=${STACK} (pulumi up --refresh: reads the server, then puts back what the stack says)`,
    ]) {
      expect(lines).toContain(expected);
    }
    // Only what was changed (and the dropped role's grants): the rest read back as recorded.
    const differences = lines.filter((l) => /^(postgresql|dynamic):/.test(l));
    expect(
      differences.every((l) => /gdpr-schema-usage|openfga-role|gdpr-retention/.test(l)),
      differences.join("\n"),
    ).toBe(true);

    const up = pulumi(["up", "--yes", "--skip-preview", "--refresh"], { allowFailure: true });
    expect(up.status, up.output).toBe(0);
    const clean = make("drift", `STACK=${STACK}`);
    expect(clean.status, clean.output).toBe(0);
    const check = await superuser();
    try {
      const { rows } = await check.query("SELECT rolconnlimit FROM pg_roles WHERE rolname = $1", [
        openfga.loginRole,
      ]);
      expect(rows[0].rolconnlimit).toBe(25);
    } finally {
      await check.end();
    }
  });

  it("exits 2, naming the cause, when the server is down", () => {
    localServer("stop");
    try {
      const r = make("drift", `STACK=${STACK}`);
      expect(r.status, r.output).not.toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(`could not check stack ${STACK}:\\n[\\s\\S]*(connect|refused)`, "i"),
      );
      expect(r.output).toMatch(/drift\] Error 2/); // scripts/drift.ts exits 2: could not check
      expect(r.output).not.toContain("undefined");
    } finally {
      localServer("start");
    }
    expect(server().port).toBe(config().port);
  });
});

/**
 * `make check` and `make metrics` against the real test stack after
 * `pulumi up`, as the monitoring role the program created (its credentials
 * from the secret output monitoringUri): everything passes; then one thing at
 * a time is broken, the matching check fails with its reason and `check.ts
 * test` exits non-zero, and it is put back exactly (90-lifecycle runs after
 * this file: `pulumi refresh --expect-no-changes` and a catalog comparison).
 *
 * The table is renamed away and back rather than dropped: the checks see
 * the same thing (no table of that name), and a rename restores the table,
 * its data, triggers and grants exactly, which re-creating it could not.
 */
import { spawnSync } from "node:child_process";
import { Server } from "node:http";
import { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckResult } from "../../components/observability/health-spec";
import { readMigrationsDir } from "../../components/schema/migration-runner";
import { CheckTarget, runChecks, targetFromStack } from "../../scripts/check";
import { serveMetrics } from "../../scripts/metrics";
import { catalog, config, outputs, pulumi, ROOT, STACK, superuser } from "./harness";

const TSX = join(ROOT, "node_modules/.bin/tsx");
const LATEST = readMigrationsDir(join(ROOT, "migrations")).at(-1)!;
const cfg = config();

let target: CheckTarget;

function byName(results: readonly CheckResult[]): Record<string, CheckResult> {
  return Object.fromEntries(results.map((r) => [r.name, r]));
}

async function check(): Promise<Record<string, CheckResult>> {
  return byName((await runChecks(target)).results);
}

/** `tsx scripts/check.ts test [args]`: what `make check STACK=test` runs (stack outputs via scripts/pulumi.sh). */
function cli(...args: string[]) {
  const res = spawnSync(TSX, ["scripts/check.ts", STACK, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

async function run(client: Promise<import("pg").Client>, ...statements: string[]): Promise<void> {
  const c = await client;
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

function failures(results: Record<string, CheckResult>): string[] {
  return Object.values(results)
    .filter((r) => r.status === "FAIL")
    .map((r) => r.name)
    .sort();
}

const gdpr = cfg.services.find((s) => s.name === "gdpr")!;
const openfga = cfg.services.find((s) => s.name === "openfga")!;
const keycloak = cfg.services.find((s) => s.name === "keycloak")!;

beforeAll(() => {
  target = targetFromStack(STACK, outputs(), cfg);
});

describe("the monitoring role and its outputs", () => {
  it("monitoringRole is db_monitor_test and monitoringUri is a secret output", () => {
    expect(outputs().monitoringRole).toBe("db_monitor_test");
    const hidden = JSON.parse(pulumi(["stack", "output", "--json"]).stdout);
    expect(hidden.monitoringUri).toBe("[secret]");
    expect(new URL(outputs().monitoringUri as string).username).toBe("db_monitor_test");
  });

  it("is in pg_monitor only, with CONNECT on the service databases and none of the forbidden attributes", async () => {
    const c = await superuser();
    try {
      const { rows } = await c.query(
        `SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin,
                ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) AS member_of,
                ARRAY(SELECT d.datname::text FROM pg_database d WHERE d.datallowconn AND has_database_privilege(r.oid, d.oid, 'CONNECT') ORDER BY 1) AS connect_on
           FROM pg_roles r WHERE rolname = 'db_monitor_test'`,
      );
      expect(rows[0]).toEqual({
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolreplication: false,
        rolbypassrls: false,
        rolcanlogin: true,
        member_of: ["pg_monitor"],
        connect_on: ["gdpr_test", "keycloak_test", "openfga_test"],
      });
    } finally {
      await c.end();
    }
  });
});

describe("make check on the test stack", () => {
  it("passes: no FAIL (openfga's and keycloak's tables PASS or PENDING); exit status 0", async () => {
    const r = await check();
    expect(failures(r)).toEqual([]);
    expect(r["tables gdpr_test"].status).toBe("PASS");
    expect(r[`schema-version gdpr_test`].reason).toBe(
      `version ${LATEST.version} (${LATEST.name}) = latest migration`,
    );
    expect(r["monitoring-role db_monitor_test"].status).toBe("PASS");
    // Read from the real catalogs: EXECUTE on the purge, no table privilege.
    expect(r["retention-role gdpr_test_retention"]).toMatchObject({
      status: "PASS",
      reason: expect.stringContaining("EXECUTE on public.purge_expired_data(); no table privileges"),
    });
    for (const name of ["tables openfga_test", "tables keycloak_test"])
      expect(["PASS", "PENDING"]).toContain(r[name].status);
    const res = cli();
    expect(res.status, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^stack test, environment test/);
    expect(res.stdout).toMatch(/^privileges gdpr_test_app\s+PASS/m);
    const json = JSON.parse(cli("--json").stdout);
    expect(json).toMatchObject({ environment: "test", ok: true });
    expect(json.counts.FAIL).toBe(0);
  });

  it("a missing gdpr table: `tables gdpr_test` fails naming it; exit status 1", async () => {
    // As the superuser: the table keeps its owner (gdpr_test_owner) through both renames.
    await run(superuser("gdpr_test"), "ALTER TABLE user_preferences RENAME TO user_preferences_e2e_away");
    try {
      const r = await check();
      expect(r["tables gdpr_test"]).toMatchObject({
        status: "FAIL",
        reason: "missing required table user_preferences in schema public (4 of 5 present)",
      });
      expect(failures(r)).toEqual(["tables gdpr_test"]);
      const res = cli();
      expect(res.status).toBe(1);
      expect(res.stdout).toMatch(/^tables gdpr_test\s+FAIL\s+missing required table user_preferences/m);
    } finally {
      await run(superuser("gdpr_test"), "ALTER TABLE user_preferences_e2e_away RENAME TO user_preferences");
    }
    expect(failures(await check())).toEqual([]);
  });

  it("CREATEDB on a login role: its `privileges` row fails; exit status 1", async () => {
    await run(superuser(), `ALTER ROLE ${openfga.loginRole} CREATEDB`);
    try {
      const r = await check();
      expect(r[`privileges ${openfga.loginRole}`]).toMatchObject({ status: "FAIL", reason: "has CREATEDB" });
      expect(failures(r)).toEqual([`privileges ${openfga.loginRole}`]);
      expect(cli().status).toBe(1);
    } finally {
      await run(superuser(), `ALTER ROLE ${openfga.loginRole} NOCREATEDB`);
    }
  });

  it("CONNECT granted to PUBLIC: `public-connect` fails, and every role that can now connect; exit status 1", async () => {
    await run(superuser(), `GRANT CONNECT ON DATABASE ${keycloak.database} TO PUBLIC`);
    try {
      const r = await check();
      expect(r[`public-connect ${keycloak.database}`]).toMatchObject({
        status: "FAIL",
        reason: `PUBLIC holds CONNECT on ${keycloak.database}: every role on the server can connect to it`,
      });
      expect(r[`privileges ${gdpr.loginRole}`].reason).toBe(
        `CONNECT also on ${keycloak.database} (via PUBLIC)`,
      );
      expect(failures(r)).toEqual(
        [
          `public-connect ${keycloak.database}`,
          `privileges ${gdpr.loginRole}`,
          `privileges ${openfga.loginRole}`,
          // Their login users too.
          ...[...gdpr.loginUsers, ...openfga.loginUsers].map((u) => `login-user ${u}`),
          `retention-role ${gdpr.retentionRole}`,
        ].sort(),
      );
      expect(cli().status).toBe(1);
    } finally {
      await run(superuser(), `REVOKE CONNECT ON DATABASE ${keycloak.database} FROM PUBLIC`);
    }
  });

  it("a `gdpr` database on the test server: `naming gdpr_test` reports the leak; exit status 1", async () => {
    const before = await catalog();
    await run(superuser(), "CREATE DATABASE gdpr");
    try {
      const r = await check();
      expect(r["naming gdpr_test"]).toMatchObject({
        status: "FAIL",
        reason:
          'naming leak: database "gdpr" (the dev/staging/prod name) exists on this test server beside "gdpr_test"',
      });
      const res = cli();
      expect(res.status).toBe(1);
      expect(res.stdout).toMatch(/^naming gdpr_test\s+FAIL\s+naming leak/m);
    } finally {
      await run(superuser(), "DROP DATABASE gdpr");
    }
    expect(await catalog()).toEqual(before);
    expect(failures(await check())).toEqual([]);
  });
});

describe("make metrics on the test stack", () => {
  let http: Server;
  let base: string;

  beforeAll(async () => {
    http = await serveMetrics(target, 0);
    const addr = http.address() as AddressInfo;
    base = `http://${addr.address}:${addr.port}`;
  });
  afterAll(() => new Promise<void>((r) => http.close(() => r())));

  it("serves Prometheus text (promtool check metrics) with sizes > 0 and the latest schema version", async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const tool = spawnSync(join(ROOT, "scripts/ensure-promtool.sh"), { encoding: "utf8" });
    expect(tool.status, tool.stderr).toBe(0);
    const lint = spawnSync(tool.stdout.trim().split("\n").pop() as string, ["check", "metrics"], {
      input: text,
      encoding: "utf8",
    });
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);

    const sample = (name: string, labels: string) => {
      const m = new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, "m").exec(text);
      return m ? Number(m[1]) : undefined;
    };
    for (const svc of cfg.services) {
      expect(
        sample("postgres_database_size_bytes", `database="${svc.database}"`),
        svc.database,
      ).toBeGreaterThan(0);
      expect(
        sample("postgres_connections_active", `database="${svc.database}"`),
        svc.database,
      ).toBeGreaterThanOrEqual(0);
    }
    expect(sample("gdpr_schema_version", 'database="gdpr_test"')).toBe(LATEST.version);
    if (outputs().gdprSchemaVersion !== undefined) {
      expect(sample("gdpr_schema_version", 'database="gdpr_test"')).toBe(outputs().gdprSchemaVersion);
    }
    expect(/^database_checks_up 1$/m.test(text)).toBe(true);
    expect(sample("database_check_status", 'check="naming",subject="gdpr_test"')).toBe(1);
  });

  it("/readyz is 200 on the healthy stack", async () => {
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
  });
});

/**
 * The health checks against a throwaway real server provisioned by the
 * program itself (tests/helpers/health-check-stack.ts: `pulumi up` of a
 * scratch stack with the test stack's config), read as the monitoring role
 * from the stack's outputs: everything passes (openfga and keycloak pending
 * until they migrate) and the CLI prints docs/health.md's table; then a
 * missing table, openfga migrating, billing added to the stack's config (and
 * taken out again) and a wrong password. Broken roles and privileges:
 * health-checks-server-privileges.test.ts.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatTable } from "../components/observability/health-format";
import { healthSpec } from "../components/observability/health-spec";
import { CheckTarget, migrationsFor, runChecks } from "../scripts/check";
import { BILLING_FILES } from "./helpers/billing-migrations";
import {
  checkCli,
  checkResults,
  expectOnlyFailures,
  startCheckedStack,
  TSX,
} from "./helpers/health-check-stack";
import { byName } from "./helpers/health-snapshot";
import { MIGRATIONS, ProgramStack, sql } from "./helpers/program-stack";

const ROOT = join(__dirname, "..");

describe("on a real server provisioned by the program (a scratch stack of the test environment)", () => {
  let stack: ProgramStack;
  let target: CheckTarget;

  beforeAll(async () => {
    ({ stack, target } = await startCheckedStack());
  }, 300_000);

  afterAll(() => stack?.stop());

  const cli = (...args: string[]) => checkCli(stack.monitoringUri, ...args);
  const check = () => checkResults(target);

  it("every check passes; openfga's and keycloak's tables are pending; the CLI exits 0", async () => {
    const { snapshot, results } = await runChecks(target);
    expect(snapshot.currentUser).toBe("db_monitor_test");
    expect(results.filter((r) => r.status === "FAIL")).toEqual([]);
    expect(results.filter((r) => r.status === "PENDING").map((r) => r.name)).toEqual([
      "tables openfga_test",
      "tables keycloak_test",
    ]);
    const r = byName(results);
    expect(r["tables gdpr_test"].reason).toBe(
      "all 5 required tables: user_profiles, user_preferences, consent_records, conversations, audit_logs",
    );
    const latest = MIGRATIONS[MIGRATIONS.length - 1];
    expect(r["schema-version gdpr_test"].reason).toBe(
      `version ${latest.version} (${latest.name}) = latest migration`,
    );
    expect(r["privileges gdpr_test_app"].reason).toContain(
      "schema public owned by gdpr_test_owner, USAGE without CREATE",
    );
    expect(r["privileges openfga_test_app"].reason).toContain("owns schema public (self-migrating)");

    const run = cli();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^tables openfga_test\s+PENDING\s+openfga has not migrated yet/m);
    expect(run.stdout).toContain("23 checks: 21 PASS, 0 FAIL, 2 PENDING");
    const json = JSON.parse(cli("--json").stdout);
    expect(json).toMatchObject({ environment: "test", ok: true, counts: { PASS: 21, FAIL: 0, PENDING: 2 } });
  });

  it("prints the sample table of docs/health.md", async () => {
    const doc = readFileSync(join(ROOT, "docs/health.md"), "utf8");
    const sample = /^(CHECK {2}[\s\S]*?\n\d+ checks: .*\n)/m.exec(doc);
    expect(sample, "docs/health.md has no sample table").not.toBeNull();
    expect(formatTable((await runChecks(target)).results)).toBe(sample![1]);
  });

  it("a missing gdpr table fails `tables` with its name; the CLI exits 1", async () => {
    // Renamed away, so that putting it back restores it exactly (data, grants, constraints).
    await sql(
      stack.superuser("gdpr_test"),
      "SET ROLE gdpr_test_owner",
      "ALTER TABLE user_preferences RENAME TO user_preferences_away",
    );
    try {
      const r = await check();
      expect(r["tables gdpr_test"]).toMatchObject({
        status: "FAIL",
        reason: "missing required table user_preferences in schema public (4 of 5 present)",
      });
      expectOnlyFailures(r, ["tables gdpr_test"]);
      const run = cli();
      expect(run.status).toBe(1);
      expect(run.stdout).toMatch(/^tables gdpr_test\s+FAIL\s+missing required table user_preferences/m);
      expect(JSON.parse(cli("--json").stdout).ok).toBe(false);
    } finally {
      await sql(
        stack.superuser("gdpr_test"),
        "SET ROLE gdpr_test_owner",
        "ALTER TABLE user_preferences_away RENAME TO user_preferences",
      );
    }
    expect(Object.values(await check()).filter((x) => x.status === "FAIL")).toEqual([]);
  });

  it("openfga partly migrated fails; fully migrated passes", async () => {
    await sql(
      stack.superuser("openfga_test"),
      "SET ROLE openfga_test_app",
      "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL)",
      "CREATE TABLE tuple (store text)",
    );
    try {
      expect((await check())["tables openfga_test"]).toMatchObject({
        status: "FAIL",
        reason: "missing required table authorization_model in schema public (1 of 2 present)",
      });
      await sql(
        stack.superuser("openfga_test"),
        "SET ROLE openfga_test_app",
        "CREATE TABLE authorization_model (store text)",
      );
      expect((await check())["tables openfga_test"]).toMatchObject({
        status: "PASS",
        reason: "all 2 required tables: tuple, authorization_model",
      });
    } finally {
      await sql(
        stack.superuser("openfga_test"),
        "SET ROLE openfga_test_app",
        "DROP TABLE IF EXISTS goose_db_version, tuple, authorization_model",
      );
    }
  });

  it("billing, a fourth managed-schema service with its own migrations: its rows pass; a missing table fails", async () => {
    // Added as a user adds a service: its name in the config, its files in migrations/billing/.
    await stack.up({
      config: {
        services: ["gdpr", "openfga", "keycloak", "billing"],
        managedSchemaServices: ["gdpr", "billing"],
      },
      migrations: { billing: BILLING_FILES },
    });
    try {
      expect(stack.outputs.schemaVersions).toEqual({
        gdpr: MIGRATIONS[MIGRATIONS.length - 1].version,
        billing: 2,
      });
      const services = stack.config.services;
      const withBilling: CheckTarget = {
        label: "with billing",
        connect: target.connect,
        spec: healthSpec("test", services, {
          monitoringRole: stack.monitoringRole,
          migrations: migrationsFor(services, stack.root),
          retentionRoles: stack.outputs.retentionRoles,
        }),
      };
      const r = byName((await runChecks(withBilling)).results);
      expect(Object.values(r).filter((x) => x.status === "FAIL")).toEqual([]);
      expect(r["tables billing_test"].reason).toBe(
        "all 3 tables its migrations (migrations/billing/) create: invoices, payment_events, ledger",
      );
      expect(r["schema-version billing_test"].reason).toBe(
        "version 2 (002_billing_ledger.sql) = latest migration",
      );
      expect(r["privileges billing_test_app"].reason).toContain(
        "schema public owned by billing_test_owner, USAGE without CREATE",
      );
      expect(Object.keys(r).filter((n) => n.startsWith("retention-role"))).toEqual([
        "retention-role gdpr_test_retention",
      ]);

      await sql(stack.superuser("billing_test"), "DROP TABLE ledger");
      const broken = byName((await runChecks(withBilling)).results);
      expect(broken["tables billing_test"]).toMatchObject({
        status: "FAIL",
        reason:
          "missing table ledger in schema public (2 of the 3 its migrations (migrations/billing/) create present)",
      });
      expectOnlyFailures(broken, ["tables billing_test"]);
    } finally {
      // Out of the config again: the program removes what it added for billing.
      await stack.up();
    }
    const su = await stack.superuser();
    try {
      const { rows } = await su.query(
        `SELECT (SELECT count(*)::int FROM pg_database WHERE datname LIKE 'billing%') AS databases,
                (SELECT count(*)::int FROM pg_roles WHERE rolname LIKE 'billing%') AS roles`,
      );
      expect(rows[0]).toEqual({ databases: 0, roles: 0 });
    } finally {
      await su.end();
    }
    expect(Object.values(await check()).filter((x) => x.status === "FAIL")).toEqual([]);
  }, 600_000);

  it("a wrong password: the CLI exits 2 and says why, without the password", () => {
    const bad = stack.monitoringUri.replace(encodeURIComponent(stack.monitoringPassword), "wrong");
    const res = spawnSync(TSX, ["scripts/check.ts", "--from-env", "--environment", "test"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, DATABASE_MONITOR_URL: bad },
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain("could not connect to any service database");
    expect(res.stderr).toContain('password authentication failed for user "db_monitor_test"');
    expect(res.stderr + res.stdout).not.toContain(stack.monitoringPassword);
  });
});

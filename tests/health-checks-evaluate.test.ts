/**
 * The health checks' evaluation and rendering, pure: evaluate() on hand-made
 * snapshots of a server as the program leaves it (tests/helpers/health-snapshot.ts),
 * then broken one way at a time, each failing row naming what is wrong; and
 * formatTable. A fourth managed-schema service: health-checks-billing.test.ts;
 * on a real server: health-checks-server*.test.ts.
 */
import { describe, expect, it } from "vitest";
import { allPassed, evaluate } from "../components/observability/health-evaluate";
import { formatTable } from "../components/observability/health-format";
import { healthSpec, leakedName, Snapshot } from "../components/observability/health-spec";
import { monitoringRoleName } from "../components/naming";
import { defaultServices } from "../scripts/check";
import { byName, GDPR_FILES, healthySnapshot, spec } from "./helpers/health-snapshot";

describe("evaluate (pure)", () => {
  it("passes a healthy test server; openfga and keycloak tables pending; one row per check in table order", () => {
    const s = spec("test");
    const results = evaluate(s, healthySnapshot(s));
    expect(results.map((r) => `${r.name} ${r.status}`)).toEqual([
      "database gdpr_test PASS",
      "naming gdpr_test PASS",
      "tables gdpr_test PASS",
      "schema-version gdpr_test PASS",
      "privileges gdpr_test_app PASS",
      "login-user gdpr_test_app_a PASS",
      "login-user gdpr_test_app_b PASS",
      "public-connect gdpr_test PASS",
      "database openfga_test PASS",
      "naming openfga_test PASS",
      "tables openfga_test PENDING",
      "privileges openfga_test_app PASS",
      "login-user openfga_test_app_a PASS",
      "login-user openfga_test_app_b PASS",
      "public-connect openfga_test PASS",
      "database keycloak_test PASS",
      "naming keycloak_test PASS",
      "tables keycloak_test PENDING",
      "privileges keycloak_test_app PASS",
      "login-user keycloak_test_app_a PASS",
      "login-user keycloak_test_app_b PASS",
      "public-connect keycloak_test PASS",
      "monitoring-role db_monitor_test PASS",
    ]);
    expect(allPassed(results)).toBe(true);
    expect(byName(results)["tables openfga_test"].reason).toBe(
      "openfga has not migrated yet (no goose_db_version table); it creates tuple, authorization_model at start",
    );
    expect(byName(results)["schema-version gdpr_test"].reason).toBe(
      "version 2 (002_b.sql) = latest migration",
    );
  });

  it("checks the retention role the stack reports: PASS as provisioned, each excess or lack named", () => {
    const s = healthSpec("test", defaultServices("test"), {
      monitoringRole: monitoringRoleName("test"),
      migrations: { gdpr: GDPR_FILES },
      retentionRoles: { gdpr: "gdpr_test_retention" },
    });
    const healthy = (): Snapshot => {
      const snap = healthySnapshot(s);
      snap.roles.push({ ...snap.roles[0], canLogin: true, name: "gdpr_test_retention", connectionLimit: 2 });
      (snap.contents.gdpr_test as { retention?: unknown }).retention = {
        canExecutePurge: true,
        hasUsage: true,
        tablePrivileges: [],
      };
      return snap;
    };
    const rows = evaluate(s, healthy()).map((r) => `${r.name} ${r.status}`);
    expect(rows.slice(4, 9)).toEqual([
      "privileges gdpr_test_app PASS",
      "login-user gdpr_test_app_a PASS",
      "login-user gdpr_test_app_b PASS",
      "retention-role gdpr_test_retention PASS",
      "public-connect gdpr_test PASS",
    ]);
    expect(byName(evaluate(s, healthy()))["retention-role gdpr_test_retention"].reason).toBe(
      "LOGIN without SUPERUSER/CREATEDB/CREATEROLE/REPLICATION/BYPASSRLS; CONNECT on gdpr_test only; EXECUTE on public.purge_expired_data(); no table privileges",
    );
    // Only gdpr has one.
    expect(evaluate(s, healthy()).filter((r) => r.check === "retention-role")).toHaveLength(1);

    const broken = (change: (snap: Snapshot) => void) => {
      const snap = healthy();
      change(snap);
      return byName(evaluate(s, snap))["retention-role gdpr_test_retention"];
    };
    const retention = (snap: Snapshot) =>
      (
        snap.contents.gdpr_test as {
          retention: { canExecutePurge?: boolean; hasUsage: boolean; tablePrivileges: string[] };
        }
      ).retention;
    const role = (snap: Snapshot) => snap.roles.find((r) => r.name === "gdpr_test_retention")!;
    expect(
      broken((snap) => (retention(snap).tablePrivileges = ["audit_logs", "user_profiles"])),
    ).toMatchObject({
      status: "FAIL",
      reason: "holds privileges on audit_logs, user_profiles (it needs none: the purge is SECURITY DEFINER)",
    });
    expect(broken((snap) => (retention(snap).canExecutePurge = false)).reason).toBe(
      "no EXECUTE on public.purge_expired_data()",
    );
    expect(broken((snap) => (retention(snap).canExecutePurge = undefined)).reason).toBe(
      "public.purge_expired_data() does not exist in gdpr_test",
    );
    expect(broken((snap) => (role(snap).connectOn = ["gdpr_test", "openfga_test"])).reason).toBe(
      "CONNECT also on openfga_test",
    );
    expect(broken((snap) => (role(snap).memberOf = ["gdpr_test_owner"])).reason).toBe(
      "member of gdpr_test_owner",
    );
    expect(broken((snap) => (role(snap).rolcreatedb = true)).reason).toBe("has CREATEDB");
    expect(
      broken((snap) => (snap.roles = snap.roles.filter((r) => r.name !== "gdpr_test_retention"))),
    ).toMatchObject({
      status: "FAIL",
      reason: "retention role gdpr_test_retention does not exist",
    });
  });

  it("names the other environments' databases: none in dev, `{service}` in test, `{service}_test` in staging/prod", () => {
    expect(leakedName("gdpr", "dev")).toBeUndefined();
    expect(leakedName("gdpr", "test")).toBe("gdpr");
    expect(leakedName("gdpr", "staging")).toBe("gdpr_test");
    expect(leakedName("keycloak", "prod")).toBe("keycloak_test");
    const dev = spec("dev");
    expect(evaluate(dev, healthySnapshot(dev)).filter((r) => r.check === "naming")).toEqual([]);
  });

  it("flags gdpr_test on a prod server", () => {
    const s = spec("prod");
    const snap = healthySnapshot(s);
    snap.databases.push({
      name: "gdpr_test",
      owner: "x",
      allowConnections: true,
      publicConnect: false,
      publicTemporary: false,
    });
    const r = byName(evaluate(s, snap))["naming gdpr"];
    expect(r.status).toBe("FAIL");
    expect(r.reason).toBe(
      'naming leak: database "gdpr_test" (the test name) exists on this prod server beside "gdpr"',
    );
  });

  it("fails a stack whose output names the database differently from the ADR", () => {
    const s = spec("test");
    s.services[0].declaredDatabase = "gdpr";
    const r = byName(evaluate(s, healthySnapshot(s)))["database gdpr_test"];
    expect(r).toMatchObject({ status: "FAIL" });
    expect(r.reason).toBe(
      'the stack reports databaseNames.gdpr = "gdpr"; ADR-0060 names it "gdpr_test" in test',
    );
  });

  it("schema version: behind, changed checksum, unreadable, no table", () => {
    const s = spec("test");
    const behind = healthySnapshot(s);
    const gdpr = behind.contents.gdpr_test as { versionRows?: unknown[]; versionError?: string };
    gdpr.versionRows = gdpr.versionRows!.slice(0, 1);
    expect(byName(evaluate(s, behind))["schema-version gdpr_test"].reason).toBe(
      "version 1, latest migration 2 (002_b.sql): pending 002_b.sql",
    );
    const changed = healthySnapshot(s);
    (changed.contents.gdpr_test as { versionRows: { checksum: string }[] }).versionRows[0].checksum =
      "0".repeat(64);
    expect(byName(evaluate(s, changed))["schema-version gdpr_test"].reason).toMatch(
      /^public\.schema_migrations disagrees with migrations\/: 001_a\.sql was changed after it was applied/,
    );
    const denied = healthySnapshot(s);
    const d = denied.contents.gdpr_test as { versionRows?: unknown[]; versionError?: string };
    delete d.versionRows;
    d.versionError = "permission denied for table schema_migrations";
    expect(byName(evaluate(s, denied))["schema-version gdpr_test"].reason).toBe(
      "cannot read public.schema_migrations as db_monitor_test: permission denied for table schema_migrations (the monitoring role needs USAGE on schema public and SELECT on the version table)",
    );
    const none = healthySnapshot(s);
    delete (none.contents.gdpr_test as { versionRows?: unknown[] }).versionRows;
    expect(byName(evaluate(s, none))["schema-version gdpr_test"].status).toBe("FAIL");
  });

  it("a missing database fails its rows, not the others", () => {
    const s = spec("test");
    const snap = healthySnapshot(s);
    snap.databases = snap.databases.filter((d) => d.name !== "keycloak_test");
    delete snap.contents.keycloak_test;
    for (const r of snap.roles) r.connectOn = r.connectOn.filter((d) => d !== "keycloak_test");
    const results = byName(evaluate(s, snap));
    expect(results["database keycloak_test"].reason).toBe(
      "database keycloak_test does not exist (service keycloak, environment test)",
    );
    expect(results["tables keycloak_test"]).toMatchObject({
      status: "FAIL",
      reason: "database keycloak_test does not exist",
    });
    expect(results["public-connect keycloak_test"].status).toBe("FAIL");
    expect(results["privileges keycloak_test_app"].status).toBe("PASS");
    expect(results["database gdpr_test"].status).toBe("PASS");
  });

  it("formatTable: aligned columns and a summary", () => {
    const table = formatTable([
      {
        name: "database gdpr_test",
        check: "database",
        subject: "gdpr_test",
        status: "PASS",
        reason: "exists",
      },
      {
        name: "tables openfga_test",
        check: "tables",
        subject: "openfga_test",
        status: "PENDING",
        reason: "not migrated",
      },
      { name: "naming x", check: "naming", subject: "x", status: "FAIL", reason: "leak" },
    ]);
    expect(table).toBe(
      [
        "CHECK                STATUS   REASON",
        "database gdpr_test   PASS     exists",
        "tables openfga_test  PENDING  not migrated",
        "naming x             FAIL     leak",
        "",
        "3 checks: 1 PASS, 1 FAIL, 1 PENDING",
        "",
      ].join("\n"),
    );
  });
});

/**
 * The health checks of a fourth managed-schema service, billing, with its own
 * migrations (tests/helpers/billing-migrations.ts), pure: which tables its
 * migrations create and so are expected, its rows as provisioned and broken,
 * a retention role given for it, and none of that when it is self-migrating.
 * The same service on a real server: health-checks-server.test.ts.
 */
import { describe, expect, it } from "vitest";
import { allPassed, evaluate } from "../components/observability/health-evaluate";
import { healthSpec, HealthSpec, Snapshot } from "../components/observability/health-spec";
import {
  REQUIRED_TABLES,
  requiredTables,
  tablesCreatedBy,
} from "../components/observability/required-tables";
import { parseMigrationFiles } from "../components/schema/migration-runner";
import { databaseName, monitoringRoleName, roleNames } from "../components/naming";
import { defaultServices } from "../scripts/check";
import { BILLING_FILES, BILLING_TABLES } from "./helpers/billing-migrations";
import { byName, GDPR_FILES, healthySnapshot } from "./helpers/health-snapshot";
import { MIGRATIONS } from "./helpers/program-stack";

const billing = {
  name: "billing",
  database: databaseName("billing", "test"),
  loginRole: roleNames("billing", "test").login,
  loginUsers: roleNames("billing", "test").users,
  ownerRole: roleNames("billing", "test").owner,
  profile: "managed-schema" as const,
};

function billingSpec(opts: { retentionRole?: string; files?: typeof BILLING_FILES } = {}): HealthSpec {
  return healthSpec("test", [...defaultServices("test"), billing], {
    monitoringRole: monitoringRoleName("test"),
    migrations: { gdpr: GDPR_FILES, billing: opts.files ?? BILLING_FILES },
    retentionRoles: opts.retentionRole ? { billing: opts.retentionRole } : {},
  });
}

/** healthySnapshot with billing's database as its migrations leave it. */
function billingSnapshot(s: HealthSpec): Snapshot {
  const snap = healthySnapshot(s);
  Object.assign(snap.contents.billing_test, {
    tables: [...BILLING_TABLES, "schema_migrations"].sort(),
    versionRows: BILLING_FILES.map((f) => ({ version: f.version, name: f.name, checksum: f.checksum })),
  });
  return snap;
}

function billingContents(snap: Snapshot) {
  return snap.contents.billing_test as {
    tables: string[];
    versionRows?: { version: number; name: string; checksum: string }[];
    retention?: unknown;
  };
}

describe("a fourth managed-schema service, billing (pure)", () => {
  it("the tables its migrations create: CREATE TABLE [IF NOT EXISTS] [public.]name, renames and drops followed", () => {
    expect(tablesCreatedBy(BILLING_FILES)).toEqual(BILLING_TABLES);
    expect(
      tablesCreatedBy([
        {
          sql: `CREATE TEMP TABLE scratch (x int); CREATE UNLOGGED TABLE "Cache" (k text);
                CREATE TABLE audit.events (x int); CREATE TABLE "public"."Mixed" (x int);
                CREATE TABLE moved (x int); ALTER TABLE moved SET SCHEMA archive;
                CREATE TABLE a (x int); CREATE TABLE b (x int); DROP TABLE a, public.b;
                CREATE TABLE s (x text DEFAULT E'it\\'s; CREATE TABLE no (x int)');
                CREATE TABLE IF NOT EXISTS public.schema_migrations (version int);
                /* CREATE TABLE nested /* comment */ still comment */`,
        },
      ]),
    ).toEqual(["Cache", "Mixed", "s"]);
    // gdpr's real migrations create consumers.md's tables, and the erasure log (003) beside them.
    expect(tablesCreatedBy(MIGRATIONS)).toEqual([...REQUIRED_TABLES.gdpr.tables, "erasure_log"]);
  });

  it("which tables are expected: REQUIRED_TABLES, else a managed-schema service's migrations, else none", () => {
    expect(requiredTables({ service: "gdpr", profile: "managed-schema", migrations: BILLING_FILES })).toBe(
      REQUIRED_TABLES.gdpr,
    );
    expect(
      requiredTables({ service: "billing", profile: "managed-schema", migrations: BILLING_FILES }),
    ).toEqual({
      tables: BILLING_TABLES,
      fromMigrations: "migrations/billing/",
    });
    expect(requiredTables({ service: "billing", profile: "self-migrating" })).toBeUndefined();
    expect(requiredTables({ service: "billing", profile: "managed-schema" })).toBeUndefined();
    expect(
      requiredTables({
        service: "billing",
        profile: "managed-schema",
        migrations: parseMigrationFiles([
          { name: "001_fn.sql", content: "CREATE FUNCTION f() RETURNS int AS 'SELECT 1' LANGUAGE sql;" },
        ]),
      }),
    ).toBeUndefined();
  });

  it("gets every gdpr-like row from its own migrations; no retention-role row without a retention role", () => {
    const s = billingSpec();
    const results = evaluate(s, billingSnapshot(s));
    expect(results.map((r) => `${r.name} ${r.status}`).slice(-9)).toEqual([
      "database billing_test PASS",
      "naming billing_test PASS",
      "tables billing_test PASS",
      "schema-version billing_test PASS",
      "privileges billing_test_app PASS",
      "login-user billing_test_app_a PASS",
      "login-user billing_test_app_b PASS",
      "public-connect billing_test PASS",
      "monitoring-role db_monitor_test PASS",
    ]);
    expect(results.filter((r) => r.check === "retention-role")).toEqual([]);
    expect(allPassed(results)).toBe(true);
    const r = byName(results);
    expect(r["tables billing_test"].reason).toBe(
      "all 3 tables its migrations (migrations/billing/) create: invoices, payment_events, ledger",
    );
    expect(r["schema-version billing_test"].reason).toBe(
      "version 2 (002_billing_ledger.sql) = latest migration",
    );
    expect(r["monitoring-role db_monitor_test"].reason).toBe(
      "member of pg_monitor only; CONNECT on the 4 service databases only",
    );
    // gdpr keeps its own expectations.
    expect(r["schema-version gdpr_test"].reason).toBe("version 2 (002_b.sql) = latest migration");
  });

  it("schema version: behind, another service's rows, no migration files; gdpr unaffected", () => {
    const s = billingSpec();
    const behind = billingSnapshot(s);
    billingContents(behind).versionRows = billingContents(behind).versionRows!.slice(0, 1);
    expect(byName(evaluate(s, behind))["schema-version billing_test"]).toMatchObject({
      status: "FAIL",
      reason: "version 1, latest migration 2 (002_billing_ledger.sql): pending 002_billing_ledger.sql",
    });
    expect(byName(evaluate(s, behind))["schema-version gdpr_test"].status).toBe("PASS");

    const foreign = billingSnapshot(s);
    billingContents(foreign).versionRows = GDPR_FILES.map((f) => ({
      version: f.version,
      name: f.name,
      checksum: f.checksum,
    }));
    const r = byName(evaluate(s, foreign))["schema-version billing_test"];
    expect(r.status).toBe("FAIL");
    expect(r.reason).toMatch(
      /^public\.schema_migrations disagrees with migrations\/billing\/: 001_billing_schema\.sql was changed after it was applied/,
    );

    const none = billingSpec({ files: [] });
    const empty = billingSnapshot(none);
    billingContents(empty).versionRows = [];
    const results = byName(evaluate(none, empty));
    expect(results["schema-version billing_test"]).toMatchObject({
      status: "FAIL",
      reason: "no migration files in migrations/billing/: a managed-schema service needs at least one",
    });
    // No migrations, so no tables are expected.
    expect(results["tables billing_test"]).toBeUndefined();
  });

  it("tables: one its migrations create is missing", () => {
    const s = billingSpec();
    const snap = billingSnapshot(s);
    billingContents(snap).tables = billingContents(snap).tables.filter((t) => t !== "ledger");
    expect(byName(evaluate(s, snap))["tables billing_test"]).toMatchObject({
      status: "FAIL",
      reason:
        "missing table ledger in schema public (2 of the 3 its migrations (migrations/billing/) create present)",
    });
  });

  it("a retention role given for billing gets its row, checked like gdpr's", () => {
    const s = billingSpec({ retentionRole: "billing_test_retention" });
    const healthy = (): Snapshot => {
      const snap = billingSnapshot(s);
      const login = snap.roles.find((r) => r.name === "billing_test_app")!;
      snap.roles.push({ ...login, canLogin: true, name: "billing_test_retention", connectionLimit: 2 });
      billingContents(snap).retention = { canExecutePurge: true, hasUsage: true, tablePrivileges: [] };
      return snap;
    };
    const results = evaluate(s, healthy());
    expect(results.map((r) => `${r.name} ${r.status}`).slice(-6)).toEqual([
      "privileges billing_test_app PASS",
      "login-user billing_test_app_a PASS",
      "login-user billing_test_app_b PASS",
      "retention-role billing_test_retention PASS",
      "public-connect billing_test PASS",
      "monitoring-role db_monitor_test PASS",
    ]);
    expect(byName(results)["retention-role billing_test_retention"].reason).toBe(
      "LOGIN without SUPERUSER/CREATEDB/CREATEROLE/REPLICATION/BYPASSRLS; CONNECT on billing_test only; EXECUTE on public.purge_expired_data(); no table privileges",
    );
    expect(results.filter((r) => r.check === "retention-role")).toHaveLength(1);

    const broken = healthy();
    billingContents(broken).retention = {
      canExecutePurge: undefined,
      hasUsage: true,
      tablePrivileges: ["invoices"],
    };
    expect(byName(evaluate(s, broken))["retention-role billing_test_retention"]).toMatchObject({
      status: "FAIL",
      reason:
        "public.purge_expired_data() does not exist in billing_test; holds privileges on invoices (it needs none: the purge is SECURITY DEFINER)",
    });
    const gone = healthy();
    gone.roles = gone.roles.filter((r) => r.name !== "billing_test_retention");
    expect(byName(evaluate(s, gone))["retention-role billing_test_retention"].reason).toBe(
      "retention role billing_test_retention does not exist",
    );
  });

  it("self-migrating, billing has no tables or schema-version row", () => {
    const s = healthSpec(
      "test",
      [...defaultServices("test"), { ...billing, ownerRole: undefined, profile: "self-migrating" as const }],
      {
        monitoringRole: monitoringRoleName("test"),
        migrations: { gdpr: GDPR_FILES },
      },
    );
    const rows = evaluate(s, healthySnapshot(s))
      .filter((r) => r.subject.startsWith("billing_test"))
      .map((r) => r.name);
    expect(rows).toEqual([
      "database billing_test",
      "naming billing_test",
      "privileges billing_test_app",
      "login-user billing_test_app_a",
      "login-user billing_test_app_b",
      "public-connect billing_test",
    ]);
  });
});

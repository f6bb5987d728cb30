/**
 * The health checks: pure evaluation and rendering, then against a throwaway
 * real server provisioned by the program itself (tests/helpers/program-stack.ts:
 * `pulumi up` of a scratch stack with the test stack's config), read as the
 * monitoring role from the stack's outputs. Everything passes (openfga and
 * keycloak pending until they migrate); then one thing at a time is broken,
 * the matching check fails with its reason and `check.ts` exits non-zero, and
 * it is put back (billing: added to the stack's config, then taken out).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allPassed, evaluate } from "../components/observability/health-evaluate";
import { formatTable } from "../components/observability/health-format";
import {
  CheckResult,
  healthSpec,
  HealthSpec,
  leakedName,
  Snapshot,
} from "../components/observability/health-spec";
import {
  REQUIRED_TABLES,
  requiredTables,
  tablesCreatedBy,
} from "../components/observability/required-tables";
import { parseStackConfig } from "../components/config/stack-config";
import { parseMigrationFiles } from "../components/schema/migration-runner";
import { databaseName, monitoringRoleName, roleNames } from "../components/naming";
import {
  clientConfigFromUri,
  CheckTarget,
  defaultServices,
  environmentFromEnv,
  migrationsFor,
  parseArgs,
  retentionRolesOf,
  runChecks,
  targetFromEnv,
  targetFromStack,
} from "../scripts/check";
import { MIGRATIONS, ProgramStack, sql, startProgramStack } from "./helpers/program-stack";

const ROOT = join(__dirname, "..");
const TSX = join(ROOT, "node_modules/.bin/tsx");

function byName(results: readonly CheckResult[]): Record<string, CheckResult> {
  return Object.fromEntries(results.map((r) => [r.name, r]));
}

// Pure: evaluate() on hand-made snapshots

const FILES = parseMigrationFiles([
  { name: "001_a.sql", content: "SELECT 1;" },
  { name: "002_b.sql", content: "SELECT 2;" },
]);

function spec(environment: "dev" | "test" | "staging" | "prod" = "test"): HealthSpec {
  return healthSpec(environment, defaultServices(environment), {
    monitoringRole: monitoringRoleName(environment),
    migrations: { gdpr: FILES },
  });
}

/** A snapshot of a server where everything is as the program leaves it. */
function healthySnapshot(s: HealthSpec): Snapshot {
  const admin = "platform_admin";
  const role = (name: string, connectOn: string[], memberOf: string[] = []) => ({
    name,
    rolsuper: false,
    rolcreatedb: false,
    rolcreaterole: false,
    rolreplication: false,
    rolbypassrls: false,
    canLogin: true,
    connectionLimit: 25,
    memberOf,
    settings: [] as string[],
    connectOn,
  });
  const dbs = s.services.map((svc) => svc.database);
  return {
    currentUser: s.monitoringRole as string,
    databases: [
      ...["postgres", "template0", "template1"].map((name) => ({
        name,
        owner: "postgres",
        allowConnections: name !== "template0",
        publicConnect: false,
        publicTemporary: false,
      })),
      ...dbs.map((name) => ({
        name,
        owner: admin,
        allowConnections: true,
        publicConnect: false,
        publicTemporary: false,
        sizeBytes: 7_000_000,
      })),
    ],
    roles: [
      ...s.services.flatMap((svc) => [
        { ...role(svc.loginRole, [svc.database]), canLogin: false },
        ...(svc.loginUsers ?? []).map((user) => ({
          ...role(user, [svc.database], [svc.loginRole]),
          settings: [`role=${svc.loginRole}`],
        })),
      ]),
      role(s.monitoringRole as string, [...dbs].sort(), ["pg_monitor"]),
    ],
    contents: Object.fromEntries(
      s.services.map((svc) => [
        svc.database,
        svc.profile === "managed-schema"
          ? {
              schemaOwner: svc.ownerRole,
              tables: [
                "audit_logs",
                "consent_records",
                "conversations",
                "schema_migrations",
                "user_preferences",
                "user_profiles",
              ],
              loginHasUsage: true,
              loginHasCreate: false,
              loginOwns: [],
              usersOwn: Object.fromEntries((svc.loginUsers ?? []).map((u) => [u, []])),
              versionRows: FILES.map((f) => ({ version: f.version, name: f.name, checksum: f.checksum })),
            }
          : {
              schemaOwner: svc.loginRole,
              tables: [],
              loginHasUsage: true,
              loginHasCreate: true,
              loginOwns: [],
              usersOwn: Object.fromEntries((svc.loginUsers ?? []).map((u) => [u, []])),
            },
      ]),
    ),
    connections: [],
  };
}

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
      migrations: { gdpr: FILES },
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

// A fourth managed-schema service, billing, with its own migrations

/**
 * billing's migrations (migrations/billing/ in a project that has it): valid
 * SQL the real-server test applies too. The tables they leave in public:
 * invoices, payment_events (payments renamed), ledger (created in a DO
 * block); old_rates is dropped, and the comment, the string literal and the
 * function body create nothing.
 */
const BILLING_FILES = parseMigrationFiles([
  {
    name: "001_billing_schema.sql",
    content: `-- Billing. CREATE TABLE ghost (x int) is only a comment.
CREATE TABLE invoices (id bigint PRIMARY KEY, amount_cents bigint NOT NULL);
CREATE TABLE IF NOT EXISTS public.payments (id bigint PRIMARY KEY, invoice_id bigint REFERENCES invoices (id));
COMMENT ON TABLE invoices IS 'Not a CREATE TABLE fake (x int); only text.';
CREATE TABLE old_rates (rate numeric);
`,
  },
  {
    name: "002_billing_ledger.sql",
    content: `ALTER TABLE payments RENAME TO payment_events;
DROP TABLE IF EXISTS old_rates;
CREATE FUNCTION billing_scratch() RETURNS void LANGUAGE plpgsql AS $body$
BEGIN
  CREATE TABLE inside_function (x int);
END
$body$;
DO $$
BEGIN
  CREATE TABLE IF NOT EXISTS ledger (id bigint PRIMARY KEY);
END
$$;
`,
  },
]);
const BILLING_TABLES = ["invoices", "payment_events", "ledger"];

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
    migrations: { gdpr: FILES, billing: opts.files ?? BILLING_FILES },
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
    billingContents(foreign).versionRows = FILES.map((f) => ({
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
        migrations: { gdpr: FILES },
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

describe("check.ts options (pure)", () => {
  it("parses a stack, --json, --from-env with environment and services; refuses the rest", () => {
    expect(parseArgs(["test", "--json"])).toMatchObject({ stack: "test", json: true, fromEnv: false });
    expect(parseArgs(["--from-env", "--environment", "prod", "--services", "gdpr,openfga"])).toMatchObject({
      fromEnv: true,
      environment: "prod",
      services: ["gdpr", "openfga"],
    });
    expect(() => parseArgs([])).toThrow("give a stack (e.g. test) or --from-env");
    expect(() => parseArgs(["test", "--jsn"])).toThrow("unknown option --jsn");
    expect(() => parseArgs(["test", "--environment", "prod"])).toThrow(
      "--environment, --services and --managed-schema go with --from-env",
    );
    expect(() => parseArgs(["--from-env", "--environment"])).toThrow("--environment needs a value");
  });

  it("--managed-schema says which services' schemas the migrations manage (the exporter passes the stack's)", () => {
    const env = { DATABASE_MONITOR_URL: "postgresql://db_monitor_test:x@127.0.0.1:5432/gdpr_test" };
    const managedOf = (argv: string[]) =>
      targetFromEnv(parseArgs(argv), env)
        .spec.services.filter((svc) => svc.ownerRole !== undefined)
        .map((svc) => [svc.service, svc.ownerRole]);
    const base = ["--from-env", "--environment", "test", "--services", "gdpr,openfga,billing"];
    // Without the flag only the defaults' managed-schema service (gdpr) is.
    expect(managedOf(base)).toEqual([["gdpr", "gdpr_test_owner"]]);
    expect(managedOf([...base, "--managed-schema", "gdpr,billing"])).toEqual([
      ["gdpr", "gdpr_test_owner"],
      ["billing", "billing_test_owner"],
    ]);
    expect(managedOf([...base, "--managed-schema", ""])).toEqual([]);
    expect(() => targetFromEnv(parseArgs([...base, "--managed-schema", "gdpr,audit"]), env)).toThrow(
      '--managed-schema names "audit", not among the services (gdpr, openfga, billing)',
    );
    expect(() => parseArgs(["test", "--managed-schema", "gdpr"])).toThrow(
      "--environment, --services and --managed-schema go with --from-env",
    );
    expect(() => parseArgs([...base, "--managed-schema"])).toThrow("--managed-schema needs a value");
  });

  it("takes the environment from --environment, ENVIRONMENT, or TESTING=true", () => {
    expect(environmentFromEnv("staging", {})).toBe("staging");
    expect(environmentFromEnv(undefined, { ENVIRONMENT: "prod" })).toBe("prod");
    expect(environmentFromEnv(undefined, { TESTING: "true" })).toBe("test");
    expect(() => environmentFromEnv(undefined, {})).toThrow("--from-env needs the environment");
    expect(() => environmentFromEnv("qa", {})).toThrow(
      'environment "qa" is not one of dev, test, staging, prod',
    );
  });

  it("reads a URI with an encoded password and sslmode; refuses other schemes", () => {
    expect(
      clientConfigFromUri("postgresql://db_monitor:p%40ss%2Fw@10.0.0.5:6432/gdpr?sslmode=require"),
    ).toMatchObject({
      user: "db_monitor",
      password: "p@ss/w",
      host: "10.0.0.5",
      port: 6432,
      database: "gdpr",
      ssl: { rejectUnauthorized: false },
    });
    expect(() => clientConfigFromUri("mysql://x@h/db", "DATABASE_MONITOR_URL")).toThrow(
      'DATABASE_MONITOR_URL has scheme "mysql", expected postgresql',
    );
  });

  it("from a stack: needs monitoringUri, shown; checks the outputs' environment", () => {
    const cfg = parseStackConfig({ environment: "test", target: "local" });
    const outputs = {
      environment: "test",
      databaseNames: { gdpr: "gdpr_test" },
      roles: {},
      connection: { host: "h", port: 1, sslmode: "disable" },
      connectionUris: {},
    };
    expect(() => targetFromStack("test", outputs, cfg)).toThrow('stack "test" has no monitoringUri output');
    expect(() => targetFromStack("test", { ...outputs, monitoringUri: "[secret]" }, cfg)).toThrow(
      "monitoringUri is hidden",
    );
    expect(() =>
      targetFromStack(
        "test",
        { ...outputs, environment: "dev", monitoringUri: "postgresql://a:b@h:1/gdpr_test" },
        cfg,
      ),
    ).toThrow('output environment is "dev" but Pulumi.test.yaml says "test"');
    const t = targetFromStack(
      "test",
      { ...outputs, monitoringUri: "postgresql://a:b@h:1/gdpr_test", monitoringRole: "db_monitor_test" },
      cfg,
    );
    expect(t.spec.monitoringRole).toBe("db_monitor_test");
    expect(t.spec.services.map((s) => [s.database, s.declaredDatabase, s.migrations?.length])).toEqual([
      ["gdpr_test", "gdpr_test", MIGRATIONS.length],
      ["openfga_test", undefined, undefined],
      ["keycloak_test", undefined, undefined],
    ]);
  });

  it("migrations for every managed-schema service from its own directory; none for a self-migrating one", () => {
    const root = mkdtempSync(join(tmpdir(), "check-migrations-"));
    try {
      mkdirSync(join(root, "migrations", "billing"), { recursive: true });
      writeFileSync(join(root, "migrations", "001_gdpr_schema.sql"), "SELECT 1;");
      for (const f of BILLING_FILES) writeFileSync(join(root, "migrations", "billing", f.name), f.sql);
      const services = [
        { name: "gdpr", profile: "managed-schema" as const },
        { name: "openfga", profile: "self-migrating" as const },
        { name: "billing", profile: "managed-schema" as const },
        { name: "ledger", profile: "managed-schema" as const },
      ];
      const found = migrationsFor(services, root);
      expect(Object.keys(found)).toEqual(["gdpr", "billing", "ledger"]);
      expect(found.gdpr.map((f) => f.name)).toEqual(["001_gdpr_schema.sql"]);
      expect(found.billing.map((f) => [f.name, f.checksum])).toEqual(
        BILLING_FILES.map((f) => [f.name, f.checksum]),
      );
      // No migrations/ledger/: none (its schema-version row fails, naming the directory).
      expect(found.ledger).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    expect(migrationsFor([{ name: "gdpr", profile: "managed-schema" }]).gdpr).toHaveLength(MIGRATIONS.length);
  });

  it("retention roles from the retentionRoles output, or a legacy retentionRole string as gdpr's", () => {
    const base = {
      environment: "test",
      databaseNames: {},
      roles: {},
      connection: { host: "h", port: 1, sslmode: "disable" },
      connectionUris: {},
    };
    const both = { gdpr: "gdpr_test_retention", billing: "billing_test_retention" };
    expect(retentionRolesOf("test", { ...base, retentionRoles: both })).toEqual(both);
    expect(retentionRolesOf("test", { ...base, retentionRole: "gdpr_test_retention" })).toEqual({
      gdpr: "gdpr_test_retention",
    });
    expect(
      retentionRolesOf("test", {
        ...base,
        retentionRoles: { billing: "b" },
        retentionRole: "gdpr_test_retention",
      }),
    ).toEqual({ billing: "b" });
    expect(retentionRolesOf("test", base)).toEqual({});
    expect(() => retentionRolesOf("test", { ...base, retentionRoles: "gdpr_test_retention" })).toThrow(
      'stack "test": output retentionRoles is not a map of service to role',
    );
    expect(() => retentionRolesOf("test", { ...base, retentionRoles: { billing: 3 } })).toThrow(
      'stack "test": output retentionRoles.billing is not a role name',
    );
  });

  it("from a stack with billing managed-schema: its migrations and retention role follow the profile and outputs", () => {
    const cfg = parseStackConfig({
      environment: "test",
      target: "local",
      services: '["gdpr","openfga","keycloak","billing"]',
      managedSchemaServices: '["gdpr","billing"]',
    });
    const t = targetFromStack(
      "test",
      {
        environment: "test",
        databaseNames: {},
        roles: {},
        connection: { host: "h", port: 1, sslmode: "disable" },
        connectionUris: {},
        monitoringUri: "postgresql://a:b@h:1/gdpr_test",
        retentionRoles: { gdpr: "gdpr_test_retention", billing: "billing_test_retention" },
      },
      cfg,
    );
    expect(t.spec.services.map((s) => [s.service, s.profile, s.migrations?.length, s.retentionRole])).toEqual(
      [
        ["gdpr", "managed-schema", MIGRATIONS.length, "gdpr_test_retention"],
        ["openfga", "self-migrating", undefined, undefined],
        ["keycloak", "self-migrating", undefined, undefined],
        // This repository has no migrations/billing/.
        ["billing", "managed-schema", 0, "billing_test_retention"],
      ],
    );
  });
});

// Real server, as the monitoring role

describe("on a real server provisioned by the program (a scratch stack of the test environment)", () => {
  let stack: ProgramStack;
  let target: CheckTarget;

  beforeAll(async () => {
    stack = await startProgramStack();
    target = targetFromEnv(
      { json: false, fromEnv: true, environment: "test" },
      { DATABASE_MONITOR_URL: stack.monitoringUri },
    );
    // As `make check STACK=test` does from the stack's retentionRoles output.
    const gdpr = target.spec.services.find((svc) => svc.service === "gdpr")!;
    gdpr.retentionRole = stack.outputs.retentionRoles.gdpr;
  }, 300_000);

  afterAll(() => stack?.stop());

  /** Runs the CLI as `make check` does in --from-env mode; returns exit status and output. */
  function cli(...args: string[]) {
    const res = spawnSync(TSX, ["scripts/check.ts", "--from-env", "--environment", "test", ...args], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, DATABASE_MONITOR_URL: stack.monitoringUri },
    });
    return { status: res.status, stdout: res.stdout, stderr: res.stderr };
  }

  async function check(): Promise<Record<string, CheckResult>> {
    return byName((await runChecks(target)).results);
  }

  function expectOnlyFailures(results: Record<string, CheckResult>, names: string[]): void {
    const failed = Object.values(results)
      .filter((r) => r.status === "FAIL")
      .map((r) => r.name)
      .sort();
    expect(failed).toEqual([...names].sort());
  }

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

  it("CREATEDB on a login role fails its `privileges` row", async () => {
    await sql(stack.superuser(), "ALTER ROLE openfga_test_app CREATEDB");
    try {
      const r = await check();
      expect(r["privileges openfga_test_app"]).toMatchObject({ status: "FAIL", reason: "has CREATEDB" });
      expectOnlyFailures(r, ["privileges openfga_test_app"]);
      expect(cli().status).toBe(1);
    } finally {
      await sql(stack.superuser(), "ALTER ROLE openfga_test_app NOCREATEDB");
    }
  });

  it("CONNECT for PUBLIC fails `public-connect` and every other role that can now connect", async () => {
    await sql(stack.superuser(), "GRANT CONNECT ON DATABASE keycloak_test TO PUBLIC");
    try {
      const r = await check();
      expect(r["public-connect keycloak_test"]).toMatchObject({
        status: "FAIL",
        reason: "PUBLIC holds CONNECT on keycloak_test: every role on the server can connect to it",
      });
      expect(r["privileges gdpr_test_app"].reason).toBe("CONNECT also on keycloak_test (via PUBLIC)");
      expect(r["privileges openfga_test_app"].reason).toBe("CONNECT also on keycloak_test (via PUBLIC)");
      // The login users too (PUBLIC's CONNECT reaches every role).
      expect(r["login-user gdpr_test_app_b"].reason).toBe("CONNECT also on keycloak_test (via PUBLIC)");
      expectOnlyFailures(r, [
        "public-connect keycloak_test",
        "privileges gdpr_test_app",
        "privileges openfga_test_app",
        "login-user gdpr_test_app_a",
        "login-user gdpr_test_app_b",
        "login-user openfga_test_app_a",
        "login-user openfga_test_app_b",
        "retention-role gdpr_test_retention",
      ]);
      expect(r["retention-role gdpr_test_retention"].reason).toBe(
        "CONNECT also on keycloak_test (via PUBLIC)",
      );
      const run = cli();
      expect(run.status).toBe(1);
      expect(run.stdout).toMatch(/^public-connect keycloak_test\s+FAIL\s+PUBLIC holds CONNECT/m);
    } finally {
      await sql(stack.superuser(), "REVOKE CONNECT ON DATABASE keycloak_test FROM PUBLIC");
    }
  });

  it("a login user that lost its SET ROLE, its membership or owns a table fails its `login-user` row", async () => {
    await sql(
      stack.superuser(),
      "ALTER ROLE gdpr_test_app_b RESET role",
      "REVOKE openfga_test_app FROM openfga_test_app_a GRANTED BY platform_admin",
    );
    await sql(
      stack.superuser("keycloak_test"),
      "CREATE TABLE public.stray (id int)",
      "ALTER TABLE public.stray OWNER TO keycloak_test_app_b",
    );
    try {
      const r = await check();
      expect(r["login-user gdpr_test_app_b"].reason).toBe(
        "its sessions do not SET ROLE gdpr_test_app (ALTER ROLE gdpr_test_app_b SET role)",
      );
      expect(r["login-user openfga_test_app_a"].reason).toBe(
        "is not a member of openfga_test_app; no CONNECT on openfga_test",
      );
      expect(r["login-user keycloak_test_app_b"].reason).toBe(
        "owns stray in keycloak_test (keycloak_test_app must: it outlives rotations)",
      );
      expectOnlyFailures(r, [
        "login-user gdpr_test_app_b",
        "login-user openfga_test_app_a",
        "login-user keycloak_test_app_b",
      ]);
      expect(cli().status).toBe(1);
    } finally {
      await sql(stack.superuser("keycloak_test"), "DROP TABLE public.stray");
      await sql(
        stack.superuser(),
        "ALTER ROLE gdpr_test_app_b SET role = gdpr_test_app",
        "GRANT openfga_test_app TO openfga_test_app_a GRANTED BY platform_admin",
      );
    }
  });

  it("a `gdpr` database on the test server is a naming leak", async () => {
    await sql(stack.superuser(), "CREATE DATABASE gdpr");
    try {
      const r = await check();
      expect(r["naming gdpr_test"]).toMatchObject({
        status: "FAIL",
        reason:
          'naming leak: database "gdpr" (the dev/staging/prod name) exists on this test server beside "gdpr_test"',
      });
      // A new database grants PUBLIC CONNECT by default: every role can reach it.
      expect(r["privileges gdpr_test_app"].reason).toBe("CONNECT also on gdpr (via PUBLIC)");
      expect(r["monitoring-role db_monitor_test"].reason).toBe("CONNECT also on gdpr (via PUBLIC)");
      expectOnlyFailures(r, [
        "naming gdpr_test",
        "privileges gdpr_test_app",
        "privileges openfga_test_app",
        "privileges keycloak_test_app",
        "login-user gdpr_test_app_a",
        "login-user gdpr_test_app_b",
        "login-user openfga_test_app_a",
        "login-user openfga_test_app_b",
        "login-user keycloak_test_app_a",
        "login-user keycloak_test_app_b",
        "retention-role gdpr_test_retention",
        "monitoring-role db_monitor_test",
      ]);
      const run = cli();
      expect(run.status).toBe(1);
      expect(run.stdout).toMatch(/^naming gdpr_test\s+FAIL\s+naming leak/m);
    } finally {
      await sql(stack.superuser(), "DROP DATABASE gdpr");
    }
  });

  it("more breaks: membership, CREATE on a managed schema, schema handed to the admin, PUBLIC CONNECT on postgres", async () => {
    await sql(stack.superuser(), "GRANT pg_read_all_data TO keycloak_test_app");
    await sql(
      stack.superuser("gdpr_test"),
      "SET ROLE gdpr_test_owner",
      "GRANT CREATE ON SCHEMA public TO gdpr_test_app",
    );
    await sql(stack.superuser("openfga_test"), "ALTER SCHEMA public OWNER TO platform_admin");
    await sql(stack.superuser(), "GRANT CONNECT ON DATABASE postgres TO PUBLIC");
    try {
      const r = await check();
      expect(r["privileges keycloak_test_app"].reason).toBe(
        "CONNECT also on postgres (via PUBLIC); member of pg_read_all_data",
      );
      expect(r["privileges gdpr_test_app"].reason).toBe(
        "CONNECT also on postgres (via PUBLIC); has CREATE on schema public of gdpr_test (managed-schema: DML only)",
      );
      expect(r["privileges openfga_test_app"].reason).toBe(
        "CONNECT also on postgres (via PUBLIC); schema public of openfga_test is owned by platform_admin, not by openfga_test_app (self-migrating: the service creates its own tables)",
      );
      expect(r["monitoring-role db_monitor_test"].reason).toBe("CONNECT also on postgres (via PUBLIC)");
    } finally {
      await sql(
        stack.superuser(),
        "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC",
        "REVOKE pg_read_all_data FROM keycloak_test_app",
      );
      await sql(
        stack.superuser("gdpr_test"),
        "SET ROLE gdpr_test_owner",
        "REVOKE CREATE ON SCHEMA public FROM gdpr_test_app",
      );
      await sql(stack.superuser("openfga_test"), "ALTER SCHEMA public OWNER TO openfga_test_app");
    }
    expect(Object.values(await check()).filter((x) => x.status === "FAIL")).toEqual([]);
  });

  it("the retention role: PASS as provisioned; a table privilege or a lost EXECUTE fails its row, naming it", async () => {
    expect((await check())["retention-role gdpr_test_retention"].status).toBe("PASS");
    await sql(
      stack.superuser("gdpr_test"),
      "SET ROLE gdpr_test_owner",
      "GRANT SELECT ON user_profiles TO gdpr_test_retention",
      "REVOKE EXECUTE ON FUNCTION purge_expired_data() FROM gdpr_test_retention",
    );
    try {
      const r = await check();
      expect(r["retention-role gdpr_test_retention"]).toMatchObject({
        status: "FAIL",
        reason:
          "no EXECUTE on public.purge_expired_data(); holds privileges on user_profiles (it needs none: the purge is SECURITY DEFINER)",
      });
      expectOnlyFailures(r, ["retention-role gdpr_test_retention"]);
    } finally {
      await sql(
        stack.superuser("gdpr_test"),
        "SET ROLE gdpr_test_owner",
        "REVOKE SELECT ON user_profiles FROM gdpr_test_retention",
        "GRANT EXECUTE ON FUNCTION purge_expired_data() TO gdpr_test_retention",
      );
    }
    expect((await check())["retention-role gdpr_test_retention"].status).toBe("PASS");
  });

  it("the monitoring role without SELECT on the version table fails `schema-version` with the reason", async () => {
    await sql(stack.superuser("gdpr_test"), "REVOKE SELECT ON public.schema_migrations FROM db_monitor_test");
    try {
      const r = await check();
      expect(r["schema-version gdpr_test"]).toMatchObject({
        status: "FAIL",
        reason:
          "cannot read public.schema_migrations as db_monitor_test: permission denied for table schema_migrations (the monitoring role needs USAGE on schema public and SELECT on the version table)",
      });
    } finally {
      await sql(stack.superuser("gdpr_test"), "GRANT SELECT ON public.schema_migrations TO db_monitor_test");
    }
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

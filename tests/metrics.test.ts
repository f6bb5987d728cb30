/**
 * The metrics endpoint on a throwaway real server provisioned by the program
 * itself (tests/helpers/program-stack.ts: `pulumi up` of a scratch stack with
 * the test stack's config): its text passes `promtool check metrics`
 * (Prometheus's own parser and linter, the pinned build of
 * scripts/ensure-promtool.sh) and carries the right values: sizes > 0, the
 * schema version = the latest migration, connections as opened here, one
 * check gauge per `make check` row. And, on a hand-made snapshot, a fourth
 * managed-schema service's series.
 */
import { spawnSync } from "node:child_process";
import { AddressInfo } from "node:net";
import { Server } from "node:http";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRegistry, STATUS_VALUE } from "../components/observability/metrics";
import { evaluate } from "../components/observability/health-evaluate";
import { healthSpec, Snapshot } from "../components/observability/health-spec";
import { parseMigrationFiles } from "../components/schema/migration-runner";
import { CheckTarget, runChecks, targetFromEnv } from "../scripts/check";
import { serveMetrics } from "../scripts/metrics";
import { MIGRATIONS, ProgramStack, sql, startProgramStack } from "./helpers/program-stack";

const ROOT = join(__dirname, "..");
let promtool: string;

/** `name{a="b",…} value` lines → samples (the text was validated by promtool first). */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries(
        [...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
      );
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples(text).filter(
    (s) =>
      s.name === name &&
      Object.keys(labels).length === Object.keys(s.labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

function promtoolCheck(text: string) {
  const res = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: res.status, out: `${res.stdout}${res.stderr}` };
}

beforeAll(() => {
  // Builds promtool the first time (minutes), then reuses the cached binary.
  const res = spawnSync(join(ROOT, "scripts/ensure-promtool.sh"), {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (res.status !== 0) throw new Error("scripts/ensure-promtool.sh failed (see its output above)");
  promtool = res.stdout.trim().split("\n").pop() as string;
}, 45 * 60_000);

describe("a fourth managed-schema service, billing (pure)", () => {
  it("gets database_schema_version and a present gauge per table its migrations create; gdpr_schema_version stays gdpr's", async () => {
    const billingFiles = parseMigrationFiles([
      { name: "001_billing_schema.sql", content: "CREATE TABLE invoices (id int);" },
      { name: "002_ledger.sql", content: "CREATE TABLE ledger (id int);" },
    ]);
    const rows = (files: typeof billingFiles) =>
      files.map((f) => ({ version: f.version, name: f.name, checksum: f.checksum }));
    const services = ["gdpr", "billing"].map((name) => ({
      name,
      database: `${name}_test`,
      loginRole: `${name}_test_app`,
      ownerRole: `${name}_test_owner`,
      profile: "managed-schema" as const,
    }));
    const spec = healthSpec("test", services, {
      monitoringRole: "db_monitor_test",
      migrations: { gdpr: MIGRATIONS, billing: billingFiles },
    });
    const contents = (tables: string[], versionRows: ReturnType<typeof rows>) => ({
      tables: [...tables, "schema_migrations"],
      loginHasUsage: true,
      loginHasCreate: false,
      loginOwns: [],
      versionRows,
    });
    const snapshot: Snapshot = {
      currentUser: "db_monitor_test",
      databases: services.map((s) => ({
        name: s.database,
        owner: "platform_admin",
        allowConnections: true,
        publicConnect: false,
        publicTemporary: false,
        sizeBytes: 1000,
      })),
      roles: [],
      contents: {
        gdpr_test: contents(
          ["user_profiles", "user_preferences", "consent_records", "conversations", "audit_logs"],
          rows(MIGRATIONS),
        ),
        // ledger is missing, and 002 not applied.
        billing_test: contents(["invoices"], rows(billingFiles.slice(0, 1))),
      },
      connections: [],
    };
    const text = await buildRegistry(spec, snapshot, evaluate(spec, snapshot)).metrics();
    const lint = promtoolCheck(text);
    expect(lint.out).toBe("");
    expect(value(text, "database_schema_version", { database: "billing_test" })).toBe(1);
    expect(value(text, "database_schema_version", { database: "gdpr_test" })).toBe(
      MIGRATIONS[MIGRATIONS.length - 1].version,
    );
    expect(value(text, "gdpr_schema_version", { database: "gdpr_test" })).toBe(
      MIGRATIONS[MIGRATIONS.length - 1].version,
    );
    expect(value(text, "gdpr_schema_version", { database: "billing_test" })).toBeUndefined();
    expect(
      value(text, "database_required_table_present", { database: "billing_test", table: "invoices" }),
    ).toBe(1);
    expect(
      value(text, "database_required_table_present", { database: "billing_test", table: "ledger" }),
    ).toBe(0);
    expect(value(text, "database_check_status", { check: "tables", subject: "billing_test" })).toBe(0);
    expect(value(text, "database_check_status", { check: "schema-version", subject: "billing_test" })).toBe(
      0,
    );
  });
});

describe("metrics of a real test server", () => {
  let stack: ProgramStack;
  let target: CheckTarget;
  const open: Client[] = [];

  beforeAll(async () => {
    stack = await startProgramStack();
    target = targetFromEnv(
      { json: false, fromEnv: true, environment: "test" },
      { DATABASE_MONITOR_URL: stack.monitoringUri },
    );
  }, 300_000);

  afterAll(async () => {
    for (const c of open) await c.end().catch(() => undefined);
    stack?.stop();
  });

  it("the promtool test is live: it rejects malformed exposition text", () => {
    expect(promtoolCheck("postgres_database_size_bytes{database=gdpr} 1\n").status).not.toBe(0);
  });

  it("parses as Prometheus text and carries the stack's values", async () => {
    // Two sessions of openfga's login role, with its URI from the stack's outputs.
    for (let i = 0; i < 2; i++) {
      const c = new Client({ connectionString: stack.outputs.connectionUris.openfga });
      await c.connect();
      open.push(c);
    }
    const { snapshot, results } = await runChecks(target);
    const text = await buildRegistry(target.spec, snapshot, results).metrics();
    const lint = promtoolCheck(text);
    expect(lint.out).toBe("");
    expect(lint.status).toBe(0);

    for (const db of ["gdpr_test", "openfga_test", "keycloak_test"]) {
      expect(value(text, "postgres_database_size_bytes", { database: db }), db).toBeGreaterThan(0);
    }
    expect(value(text, "gdpr_schema_version", { database: "gdpr_test" })).toBe(
      MIGRATIONS[MIGRATIONS.length - 1].version,
    );
    expect(value(text, "postgres_connections_active", { database: "openfga_test" })).toBe(2);
    expect(value(text, "postgres_connections_active", { database: "keycloak_test" })).toBe(0);
    // The checker's own session sits in gdpr_test, the first service database.
    expect(value(text, "postgres_connections_active", { database: "gdpr_test" })).toBe(1);
    // Per login user (the active one holds them); none for the NOLOGIN service role.
    expect(value(text, "postgres_role_connections", { role: "openfga_test_app_a" })).toBe(2);
    expect(value(text, "postgres_role_connection_limit", { role: "openfga_test_app_a" })).toBe(25);
    expect(value(text, "postgres_role_connections", { role: "openfga_test_app_b" })).toBe(0);
    expect(value(text, "postgres_role_connections", { role: "openfga_test_app" })).toBeUndefined();
    expect(value(text, "database_checks_up")).toBe(1);

    // One gauge series per `make check` row, valued by its status.
    const checks = samples(text).filter((s) => s.name === "database_check_status");
    expect(checks).toHaveLength(results.length);
    for (const r of results) {
      expect(value(text, "database_check_status", { check: r.check, subject: r.subject }), r.name).toBe(
        STATUS_VALUE[r.status],
      );
    }
    expect(value(text, "database_check_status", { check: "tables", subject: "openfga_test" })).toBe(-1);

    // Required tables: gdpr's five present; none reported for the services that have not migrated.
    const present = samples(text).filter((s) => s.name === "database_required_table_present");
    expect(present.map((s) => [s.labels.database, s.labels.table, s.value]).sort()).toEqual(
      ["audit_logs", "consent_records", "conversations", "user_preferences", "user_profiles"].map((t) => [
        "gdpr_test",
        t,
        1,
      ]),
    );
  });

  it("a dropped table reads 0 in database_required_table_present and its check gauge", async () => {
    await sql(
      stack.superuser("gdpr_test"),
      "SET ROLE gdpr_test_owner",
      "ALTER TABLE audit_logs RENAME TO audit_logs_away",
    );
    try {
      const { snapshot, results } = await runChecks(target);
      const text = await buildRegistry(target.spec, snapshot, results).metrics();
      expect(
        value(text, "database_required_table_present", { database: "gdpr_test", table: "audit_logs" }),
      ).toBe(0);
      expect(value(text, "database_check_status", { check: "tables", subject: "gdpr_test" })).toBe(0);
    } finally {
      await sql(
        stack.superuser("gdpr_test"),
        "SET ROLE gdpr_test_owner",
        "ALTER TABLE audit_logs_away RENAME TO audit_logs",
      );
    }
  });

  it("without a server: database_checks_up 0 and nothing else", async () => {
    const text = await buildRegistry(target.spec, undefined).metrics();
    expect(promtoolCheck(text).status).toBe(0);
    expect(samples(text)).toEqual([{ name: "database_checks_up", labels: {}, value: 0 }]);
  });

  describe("the HTTP endpoint (make metrics)", () => {
    let http: Server;
    let base: string;

    beforeAll(async () => {
      http = await serveMetrics(target, 0);
      const addr = http.address() as AddressInfo;
      base = `http://${addr.address}:${addr.port}`;
    });
    afterAll(() => new Promise<void>((r) => http.close(() => r())));

    it("listens on 127.0.0.1 only", () => {
      expect((http.address() as AddressInfo).address).toBe("127.0.0.1");
    });

    it("GET /metrics: Prometheus text that promtool accepts, with the ADR's metric names", async () => {
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
      const text = await res.text();
      expect(promtoolCheck(text).status).toBe(0);
      for (const name of [
        "postgres_database_size_bytes",
        "postgres_connections_active",
        "gdpr_schema_version",
      ]) {
        expect(text).toContain(`# TYPE ${name} gauge`);
      }
      expect(value(text, "postgres_database_size_bytes", { database: "gdpr_test" })).toBeGreaterThan(0);
    });

    it("GET /healthz 200; /readyz 200 when healthy, 503 with the failing row when not; 404 elsewhere", async () => {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { ok: boolean }).ok).toBe(true);
      await sql(stack.superuser(), "ALTER ROLE keycloak_test_app CREATEROLE");
      try {
        const res = await fetch(`${base}/readyz`);
        expect(res.status).toBe(503);
        const body = (await res.json()) as { results: { status: string }[] };
        expect(body.results.filter((r) => r.status === "FAIL")).toEqual([
          expect.objectContaining({ name: "privileges keycloak_test_app", reason: "has CREATEROLE" }),
        ]);
      } finally {
        await sql(stack.superuser(), "ALTER ROLE keycloak_test_app NOCREATEROLE");
      }
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    });
  });
});

/**
 * "Adding a service" as the README says it, for real: the test stack gets a
 * fourth service `billing`, managed-schema, with one migration file of its own
 * in migrations/billing/. After `pulumi up` it has its database and roles, its
 * migration applied as its owner role, a Helm values entry, a row set in
 * `make check`; taking it out of the config again removes exactly what it
 * added (90-lifecycle then checks destroy against the catalog before the suite).
 *
 * It edits Pulumi.test.yaml and adds migrations/billing/ as a user would, and
 * puts both back in afterAll whatever happens.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { Client } from "pg";
import { catalog, make, pgError, pulumi, ROOT, STACK, superuser } from "./harness";

const STACK_FILE = join(ROOT, `Pulumi.${STACK}.yaml`);
const BILLING_DIR = join(ROOT, "migrations", "billing");
const MIGRATION = `CREATE TABLE invoices (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer   text NOT NULL,
  amount     numeric(12, 2) NOT NULL CHECK (amount >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- The runner names the service's login role in platform.login_role (as for gdpr).
DO $$
BEGIN
  EXECUTE format('GRANT SELECT, INSERT ON invoices TO %I', current_setting('platform.login_role'));
END
$$;
`;

const original = readFileSync(STACK_FILE, "utf8");
let before: { databases: string[]; roles: string[] };
let out: Record<string, unknown>;

function withServices(services: string[], managed: string[]): string {
  const doc = parse(original);
  doc.config["platform-databases:services"] = services;
  doc.config["platform-databases:managedSchemaServices"] = managed;
  return stringify(doc);
}

beforeAll(() => {
  expect(existsSync(BILLING_DIR), "migrations/billing/ left over from an earlier run").toBe(false);
  before = JSON.parse(readFileSync(join(ROOT, ".local", STACK, "catalog-before.json"), "utf8"));
  mkdirSync(BILLING_DIR);
  writeFileSync(join(BILLING_DIR, "001_billing_schema.sql"), MIGRATION);
  writeFileSync(STACK_FILE, withServices(["gdpr", "openfga", "keycloak", "billing"], ["gdpr", "billing"]));
  const up = pulumi(["up", "--yes", "--skip-preview"], { allowFailure: true });
  expect(up.status, up.output).toBe(0);
  out = JSON.parse(pulumi(["stack", "output", "--json", "--show-secrets"]).stdout);
}, 600_000);

afterAll(() => {
  writeFileSync(STACK_FILE, original);
  rmSync(BILLING_DIR, { recursive: true, force: true });
});

describe("a fourth managed-schema service, billing", () => {
  it("gets its database, login and owner roles, and its migration, applied as the owner", async () => {
    expect(out.databaseNames).toMatchObject({ billing: "billing_test" });
    expect(out.roles).toMatchObject({ billing: "billing_test_app_a" });
    expect(out.serviceRoles).toMatchObject({ billing: "billing_test_app" });
    expect(out.schemaVersions).toEqual({ gdpr: expect.any(Number), billing: 1 });
    // No purge function in its migrations: no retention role.
    expect(out.retentionRoles).toEqual({ gdpr: "gdpr_test_retention" });
    const c = await superuser("billing_test");
    try {
      const { rows } = await c.query(
        `SELECT (SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'invoices') AS owner,
                (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public') AS schema_owner,
                (SELECT array_agg(version || ' ' || name) FROM public.schema_migrations) AS versions`,
      );
      expect(rows[0]).toEqual({
        owner: "billing_test_owner",
        schema_owner: "billing_test_owner",
        versions: ["1 001_billing_schema.sql"],
      });
    } finally {
      await c.end();
    }
  });

  it("its login role connects to its own database only, writes what its migration granted, and cannot change the schema", async () => {
    const c = await asBilling();
    try {
      const { rows } = await c.query("SELECT current_user AS u, current_database() AS d");
      expect(rows[0]).toEqual({ u: "billing_test_app", d: "billing_test" });
      await c.query("INSERT INTO invoices (customer, amount) VALUES ('acme', 12.50)");
      expect((await c.query("SELECT count(*)::int AS n FROM invoices")).rows[0].n).toBe(1);
      expect((await pgError(() => c.query("DELETE FROM invoices")))?.code).toBe("42501");
      expect((await pgError(() => c.query("CREATE TABLE x (id int)")))?.code).toBe("42501");
    } finally {
      await c.end();
    }
    expect((await pgError(() => asBilling("gdpr_test").then((other) => other.end())))?.code).toBe("42501");
  });

  it("gets a generic Helm values entry naming its Secret", () => {
    const values = out.helmValues as { platformDatabases?: Record<string, unknown> };
    expect(values.platformDatabases).toEqual({
      billing: {
        host: "127.0.0.1",
        port: expect.any(Number),
        database: "billing_test",
        username: "billing_test_app",
        sslMode: "disable",
        existingSecret: "billing-test-database",
      },
    });
  });

  it("has its rows in `make check`, all passing", () => {
    const res = make("check", `STACK=${STACK}`, "ARGS=--json");
    expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
    const report = JSON.parse(res.stdout) as { ok: boolean; results: { name: string; status: string }[] };
    // backup-age billing_test is PENDING until its first backup.
    const billing = report.results.filter(
      (r) => /billing_test/.test(r.name) && !r.name.startsWith("backup-age"),
    );
    expect(billing.map((r) => r.name).sort()).toEqual(
      expect.arrayContaining([
        "database billing_test",
        "privileges billing_test_app",
        "login-user billing_test_app_a",
        "login-user billing_test_app_b",
        "public-connect billing_test",
        "schema-version billing_test",
      ]),
    );
    expect(billing.filter((r) => r.status !== "PASS")).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it("taken out of the config, it leaves the server as it was before it came", async () => {
    writeFileSync(STACK_FILE, original);
    const up = pulumi(["up", "--yes", "--skip-preview"], { allowFailure: true });
    expect(up.status, up.output).toBe(0);
    const now = await catalog();
    expect(now.databases.filter((d) => !before.databases.includes(d)).sort()).toEqual([
      "gdpr_test",
      "keycloak_test",
      "openfga_test",
    ]);
    expect(now.roles.some((r) => r.startsWith("billing"))).toBe(false);
    expect(now.databases).not.toContain("billing_test");
  });
});

/** Connects as billing's login role with its credentials from this file's `up` (not globalSetup's outputs). */
async function asBilling(database?: string): Promise<Client> {
  const url = new URL((out.connectionUris as Record<string, string>).billing);
  if (database) url.pathname = `/${database}`;
  const c = new Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 });
  c.on("error", () => undefined);
  await c.connect();
  return c;
}

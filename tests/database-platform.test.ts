/**
 * DatabasePlatform as a library: another program builds it from a config it
 * parses itself, two platforms live side by side without a URN collision, and
 * every managed-schema service is migrated from its own directory (the
 * retention role only where its migrations define the purge).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import { installMocks, ofType, recorded, resetRecorded, settle, unwrap } from "./helpers/mocks";

const ROOT = resolve(__dirname, "..");
const ROLE = "postgresql:index/role:Role";

async function load() {
  await installMocks();
  return import("../components");
}

/** A project root with gdpr's migrations and, when given, billing's own files. */
function projectRoot(billing: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), "platform-root-"));
  roots.push(root);
  cpSync(join(ROOT, "migrations"), join(root, "migrations"), { recursive: true });
  if (Object.keys(billing).length > 0) {
    mkdirSync(join(root, "migrations", "billing"));
    for (const [name, sql] of Object.entries(billing))
      writeFileSync(join(root, "migrations", "billing", name), sql);
  }
  return root;
}
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

describe("DatabasePlatform", () => {
  beforeEach(() => resetRecorded());

  it("two platforms in one program register without collision", async () => {
    const { DatabasePlatform } = await load();
    const a = new DatabasePlatform("a", { config: parseStackConfig({ environment: "dev" }) });
    const b = new DatabasePlatform("b", {
      config: parseStackConfig({ environment: "test", port: "55433" }),
    });
    expect(await unwrap(a.databaseNames)).toEqual({ gdpr: "gdpr", openfga: "openfga", keycloak: "keycloak" });
    expect(await unwrap(b.databaseNames)).toEqual({
      gdpr: "gdpr_test",
      openfga: "openfga_test",
      keycloak: "keycloak_test",
    });
    await settle();
    // A URN is (type, parent types, name): distinct names per type rule out a collision.
    const keys = recorded.map((r) => `${r.type}::${r.name}`);
    expect(keys.length).toBeGreaterThan(40);
    expect(new Set(keys).size).toBe(keys.length);
    expect(
      recorded.filter((r) => r.type === "platform-databases:index:DatabasePlatform").map((r) => r.name),
    ).toEqual(["a", "b"]);
  });

  it("migrates a fourth managed-schema service from migrations/<service>/, with a retention role only if it defines the purge", async () => {
    const { DatabasePlatform } = await load();
    const config = parseStackConfig({
      environment: "test",
      services: '["gdpr","openfga","keycloak","billing"]',
      managedSchemaServices: '["gdpr","billing"]',
    });
    const plain = new DatabasePlatform("plain", {
      config,
      root: projectRoot({ "001_billing_schema.sql": "CREATE TABLE invoices (id bigint PRIMARY KEY);\n" }),
    });
    await unwrap(plain.schemaVersions);
    await settle();
    const runs = ofType("pulumi-nodejs:dynamic/platform-databases:SchemaMigrationRun");
    expect(runs.map((r) => [r.name, r.inputs.database, r.inputs.ownerRole, r.inputs.migrations])).toEqual([
      [
        "plain-gdpr-migrations-run",
        "gdpr_test",
        "gdpr_test_owner",
        [
          expect.stringMatching(/^001_gdpr_schema\.sql sha256:/),
          expect.stringMatching(/^002_conversations_app_indexes\.sql sha256:/),
          expect.stringMatching(/^003_erasure_log\.sql sha256:/),
        ],
      ],
      [
        "plain-billing-migrations-run",
        "billing_test",
        "billing_test_owner",
        [expect.stringMatching(/^001_billing_schema\.sql sha256:/)],
      ],
    ]);
    expect(await unwrap(plain.retentionRoles)).toEqual({ gdpr: "gdpr_test_retention" });

    resetRecorded();
    const purging = new DatabasePlatform("purging", {
      config,
      root: projectRoot({
        "001_billing_schema.sql":
          "CREATE TABLE invoices (id bigint PRIMARY KEY);\n-- CREATE FUNCTION purge_expired_data() is below\n",
        "002_billing_purge.sql":
          "CREATE FUNCTION public.purge_expired_data() RETURNS TABLE (table_name text, rows_deleted bigint)\nLANGUAGE sql AS $$ SELECT 'invoices'::text, 0::bigint $$;\n",
      }),
    });
    expect(await unwrap(purging.retentionRoles)).toEqual({
      gdpr: "gdpr_test_retention",
      billing: "billing_test_retention",
    });
    await settle();
    expect(ofType(ROLE).map((r) => r.inputs.name)).toContain("billing_test_retention");
  });

  it("refuses a managed-schema service without migrations before registering anything", async () => {
    const { DatabasePlatform, PlatformPlanError } = await load();
    const config = parseStackConfig({
      environment: "dev",
      services: '["gdpr","billing"]',
      managedSchemaServices: '["gdpr","billing"]',
    });
    const root = projectRoot();
    expect(() => new DatabasePlatform("p", { config, root })).toThrow(PlatformPlanError);
    expect(() => new DatabasePlatform("p", { config, root })).toThrow(
      'DatabasePlatform p: 1 problem:\n  - service "billing" is managed-schema but migrations/billing holds no NNN_name.sql migration: add one (e.g. 001_billing_schema.sql), or make the service self-migrating',
    );
    await settle();
    expect(recorded).toEqual([]);
  });
});

/**
 * scripts/check.ts's options, pure: its arguments, the environment and the
 * monitoring URI it reads in --from-env mode, and what it takes from a
 * stack's config and outputs (migrations per managed-schema service,
 * retention roles).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import {
  clientConfigFromUri,
  environmentFromEnv,
  migrationsFor,
  parseArgs,
  retentionRolesOf,
  targetFromEnv,
  targetFromStack,
} from "../scripts/check";
import { BILLING_FILES } from "./helpers/billing-migrations";
import { MIGRATIONS } from "./helpers/program-stack";

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

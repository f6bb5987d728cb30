/**
 * MonitoringRole under mocks: what it grants (and what it does not), its
 * secret password, its argument checks; and its wiring in index.ts (outputs
 * monitoringRole and the secret monitoringUri, none when monitoring is off).
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it } from "vitest";
import {
  installMocks,
  isSecret,
  ofType,
  parents,
  recorded,
  resetRecorded,
  settle,
  unwrap,
} from "./helpers/mocks";
import { runProgram } from "./helpers/run-program";

type Module = typeof import("../components/observability/monitoring-role");

const ROLE = "postgresql:index/role:Role";
const GRANT = "postgresql:index/grant:Grant";
const GRANT_ROLE = "postgresql:index/grantRole:GrantRole";

async function load(): Promise<Module> {
  await installMocks();
  return import("../components/observability/monitoring-role");
}

function make(
  mod: Module,
  extra: Partial<import("../components/observability/monitoring-role").MonitoringRoleArgs> = {},
) {
  return new mod.MonitoringRole("monitoring", {
    roleName: "db_monitor_test",
    databases: [
      { service: "gdpr", database: "gdpr_test" },
      { service: "openfga", database: "openfga_test" },
    ],
    ...extra,
  });
}

describe("MonitoringRole", () => {
  beforeEach(() => resetRecorded());

  it("creates a LOGIN role with none of the forbidden attributes, in pg_monitor, with CONNECT on each service database only", async () => {
    const mod = await load();
    const m = make(mod);
    expect(await unwrap(m.roleName)).toBe("db_monitor_test");
    await settle();
    const roles = ofType(ROLE);
    expect(roles).toHaveLength(1);
    expect(roles[0].inputs).toMatchObject({
      name: "db_monitor_test",
      login: true,
      superuser: false,
      createDatabase: false,
      createRole: false,
      replication: false,
      bypassRowLevelSecurity: false,
      inherit: true,
      connectionLimit: 5,
    });
    // pg_monitor membership on the role itself (a separate GrantRole drifts on refresh).
    expect(roles[0].inputs.roles).toEqual(["pg_monitor"]);
    expect(ofType(GRANT_ROLE)).toEqual([]);
    expect(
      ofType(GRANT).map((g) => [g.name, g.inputs.objectType, g.inputs.database, g.inputs.privileges]),
    ).toEqual([
      ["monitoring-connect-gdpr", "database", "gdpr_test", ["CONNECT"]],
      ["monitoring-connect-openfga", "database", "openfga_test", ["CONNECT"]],
    ]);
    // Children hang under the component.
    const urn = recorded.find((r) => r.type === "platform-databases:index:MonitoringRole")?.urn;
    for (const child of ["monitoring-role", "monitoring-connect-gdpr"]) {
      expect(parents.get(child), child).toBe(urn);
    }
  });

  it("waits for the given resources before granting (no concurrent GRANTs on one database's ACL)", async () => {
    const mod = await load();
    // Record each registration's dependencies (the mocks record parents only).
    const deps = new Map<string, string[]>();
    const monitor = pulumi.runtime.getMonitor() as unknown as {
      registerResource(req: { getName(): string; getDependenciesList(): string[] }, cb: unknown): unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
      deps.set(req.getName(), req.getDependenciesList());
      return register(req, cb);
    };
    const postgresql = await import("@pulumi/postgresql");
    const before = new postgresql.Grant("service-connect", {
      database: "gdpr_test",
      role: "gdpr_test_app",
      objectType: "database",
      privileges: ["CONNECT"],
    });
    const migrations = new postgresql.Role("migrations-stand-in", { name: "x" });
    new mod.MonitoringRole("monitoring", {
      roleName: "db_monitor_test",
      databases: [{ service: "gdpr", database: "gdpr_test", dependsOn: [before] }],
      versionTables: [{ service: "gdpr", database: "gdpr_test", dependsOn: [migrations] }],
    });
    await settle();
    const beforeUrn = await unwrap(before.urn);
    const migrationsUrn = await unwrap(migrations.urn);
    expect(deps.get("monitoring-connect-gdpr")).toContain(beforeUrn);
    expect(deps.get("monitoring-gdpr-schema-usage")).toContain(migrationsUrn);
    monitor.registerResource = register;
  });

  it("gives the version table SELECT and its schema USAGE only, when asked", async () => {
    const mod = await load();
    make(mod, { versionTables: [{ service: "gdpr", database: "gdpr_test" }] });
    await settle();
    const grants = ofType(GRANT).filter((g) => g.inputs.objectType !== "database");
    expect(
      grants.map((g) => [
        g.name,
        g.inputs.objectType,
        g.inputs.database,
        g.inputs.schema,
        g.inputs.objects,
        g.inputs.privileges,
      ]),
    ).toEqual([
      ["monitoring-gdpr-schema-usage", "schema", "gdpr_test", "public", undefined, ["USAGE"]],
      ["monitoring-gdpr-version-table", "table", "gdpr_test", "public", ["schema_migrations"], ["SELECT"]],
    ]);
  });

  it("keeps its password a secret, generated by GeneratedPassword (no @pulumi/random)", async () => {
    const mod = await load();
    const m = make(mod, { passwordLength: 32 });
    expect(await isSecret(m.password)).toBe(true);
    expect(await unwrap(m.password)).toBe("mock-password-monitoring-password-@:/?#%");
    await settle();
    expect(recorded.filter((r) => r.type.startsWith("random:"))).toEqual([]);
    const pw = recorded.filter(
      (r) => r.type.endsWith(":GeneratedPassword") && r.name === "monitoring-password",
    );
    expect(pw).toHaveLength(1);
    expect(pw[0].inputs.length).toBe(32);
  });

  it("refuses an empty database list, a duplicate service and a bad connection limit, naming the value", async () => {
    const mod = await load();
    expect(() => make(mod, { databases: [] })).toThrow("MonitoringRole monitoring: databases is empty");
    expect(() =>
      make(mod, {
        databases: [
          { service: "gdpr", database: "gdpr" },
          { service: "gdpr", database: "gdpr" },
        ],
      }),
    ).toThrow('MonitoringRole monitoring: databases lists service "gdpr" twice');
    expect(() => make(mod, { connectionLimit: 0 })).toThrow(
      "MonitoringRole monitoring: connectionLimit 0 is not a positive integer",
    );
  });
});

describe("index.ts with monitoring", () => {
  it("creates db_monitor_test on the test stack, reads the GDPR version table after the migrations, exports a secret URI", async () => {
    const run = await runProgram({ environment: "test", port: "55433" }, "test");
    expect(await unwrap(pulumi.output(run.program.monitoringRole))).toBe("db_monitor_test");
    const uri = run.program.monitoringUri as pulumi.Output<string>;
    expect(await isSecret(uri)).toBe(true);
    expect(await unwrap(uri)).toBe(
      "postgresql://db_monitor_test:mock-password-platform-monitoring-password-%40%3A%2F%3F%23%25@127.0.0.1:55433/gdpr_test?sslmode=disable",
    );
    const grants = run.resources.filter((r) => r.type === GRANT && r.name.startsWith("platform-monitoring-"));
    // Registration order follows dependencies: compare sorted.
    expect(grants.map((g) => [g.name, g.inputs.database]).sort()).toEqual([
      ["platform-monitoring-connect-gdpr", "gdpr_test"],
      ["platform-monitoring-connect-keycloak", "keycloak_test"],
      ["platform-monitoring-connect-openfga", "openfga_test"],
      ["platform-monitoring-gdpr-schema-usage", "gdpr_test"],
      ["platform-monitoring-gdpr-version-table", "gdpr_test"],
    ]);
  });

  it("creates nothing and exports nothing when monitoring is false", async () => {
    const run = await runProgram({ environment: "dev", monitoring: "false" }, "dev");
    expect(run.program.monitoringRole).toBeUndefined();
    expect(run.program.monitoringUri).toBeUndefined();
    expect(run.resources.filter((r) => r.name.includes("monitoring"))).toEqual([]);
    expect(run.resources.filter((r) => r.type === ROLE).map((r) => r.inputs.name)).not.toContain(
      "db_monitor",
    );
  });
});

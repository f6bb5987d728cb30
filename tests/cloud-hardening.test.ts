/**
 * The benchmark hardening on the staging and prod stack files, on both
 * clouds, under mocks: logs that hold no statement text (the CIS 6.2.x
 * baseline), pgaudit loaded and created in every service database in the
 * right order, and RDS's enhanced monitoring and event subscriptions. The
 * policy pack's view of the same graphs is in tests/policy.test.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { cloudMocks, plain, stackFileConfig } from "./helpers/cloud-mocks";
import { Run, resource, runProgram } from "./helpers/run-program";
import { loggingDepartures } from "../components/config/database-flags";

const CLOUDSQL = "gcp:sql/databaseInstance:DatabaseInstance";
const RDS = "aws:rds/instance:Instance";
const PARAMS = "aws:rds/parameterGroup:ParameterGroup";
const EXTENSION = "postgresql:index/extension:Extension";
const SCHEMA = "postgresql:index/schema:Schema";
const SERVICES = ["gdpr", "openfga", "keycloak"];

/** A flag / parameter list as a record. */
const flagsOf = (list: { name: string; value: string }[]) =>
  Object.fromEntries(list.map((f) => [f.name, f.value]));

describe.each([
  ["staging", "gcp"],
  ["prod", "gcp"],
  ["staging", "aws"],
  ["prod", "aws"],
] as const)("%s on %s", (stack, target) => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram(stackFileConfig(stack, { target }), stack, cloudMocks());
  }, 120_000);

  const deps = (name: string) => run.dependsOn.get(name) ?? [];

  /** The instance's flags (Cloud SQL) or its parameter group's parameters (RDS). */
  const flags = () =>
    target === "gcp"
      ? // eslint-disable-next-line @typescript-eslint/no-explicit-any
        flagsOf((plain(resource(run, CLOUDSQL).inputs) as any).settings.databaseFlags)
      : // eslint-disable-next-line @typescript-eslint/no-explicit-any
        flagsOf((plain(resource(run, PARAMS).inputs) as any).parameters);

  it("logs no statement text: slow statements unlogged, log_statement none, warnings and errors, checkpoints, temp files (CIS 6.2.x)", () => {
    const f = flags();
    expect(f).toMatchObject({
      log_min_duration_statement: "-1",
      log_statement: "none",
      log_min_messages: "warning",
      log_min_error_statement: "error",
      log_temp_files: "0",
    });
    const on = target === "gcp" ? "on" : "1";
    for (const name of ["log_checkpoints", "log_connections", "log_disconnections", "log_lock_waits"]) {
      expect(f[name], name).toBe(on);
    }
    expect(loggingDepartures(target, f)).toEqual([]);
  });

  it("loads pgaudit and audits DDL and role changes only (CIS 6.2.8)", () => {
    const f = flags();
    if (target === "gcp") expect(f["cloudsql.enable_pgaudit"]).toBe("on");
    else expect(f.shared_preload_libraries).toBe("pg_stat_statements,pgaudit");
    expect(f["pgaudit.log"]).toBe("ddl,role");
    expect(f["pgaudit.log_parameter"]).toBeUndefined();
  });

  it("creates the pgaudit extension in every service database, in schema pgaudit, as the admin's provider", () => {
    const extensions = run.resources.filter((r) => r.type === EXTENSION);
    expect(extensions.map((e) => [e.name, e.inputs]).sort()).toEqual(
      SERVICES.map((svc) => [
        `platform-${svc}-pgaudit`,
        { name: "pgaudit", database: svc, schema: "pgaudit" },
      ]).sort(),
    );
    for (const svc of SERVICES) {
      const schema = resource(run, SCHEMA, `platform-${svc}-pgaudit-schema`);
      expect(schema.inputs).toEqual({ name: "pgaudit", database: svc, ifNotExists: true });
      // No owner given: the admin that creates it owns it; nobody else gets any right on it.
      expect(schema.inputs.owner).toBeUndefined();
      expect(resource(run, EXTENSION, `platform-${svc}-pgaudit`).provider).toContain(
        "pulumi:providers:postgresql::platform-postgres-provider",
      );
    }
  });

  it("orders it after the database's own statements and before everything else in that database", () => {
    for (const svc of SERVICES) {
      const before = [
        `platform-${svc}-database`,
        `platform-${svc}-connect`,
        `platform-${svc}-schema`,
        `platform-${svc}-schema-revoke-public`,
        ...(svc === "gdpr" ? [`platform-${svc}-schema-usage`] : []),
      ];
      expect(deps(`platform-${svc}-pgaudit-schema`)).toEqual(expect.arrayContaining(before));
      expect(deps(`platform-${svc}-pgaudit`)).toContain(`platform-${svc}-pgaudit-schema`);
      // The monitoring role's CONNECT (and, for gdpr, the migrations) wait for it.
      expect(deps(`platform-monitoring-connect-${svc}`), svc).toContain(`platform-${svc}-pgaudit`);
    }
    expect(deps("platform-gdpr-migrations-run")).toContain("platform-gdpr-pgaudit");
  });

  if (target === "aws") {
    it("turns enhanced monitoring on every 60 s with its own role (RDS.6)", () => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const instance = plain(resource(run, RDS).inputs) as any;
      const role = resource(run, "aws:iam/role:Role");
      expect(instance.monitoringInterval).toBe(60);
      expect(instance.monitoringRoleArn).toBe(
        `arn:aws:iam::123456789012:role/platform-databases-${stack}-monitoring`,
      );
      expect(role.inputs.name).toBe(`platform-databases-${stack}-monitoring`);
      expect(resource(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs.policyArn).toBe(
        "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
      );
    });

    it("subscribes a topic it creates to instance, parameter group and security group events (RDS.20-22)", () => {
      const topic = `arn:aws:sns:eu-central-1:123456789012:platform-databases-${stack}-rds-events`;
      const subscriptions = run.resources
        .filter((r) => r.type === "aws:rds/eventSubscription:EventSubscription")
        .map((r) => [r.inputs.sourceType, r.inputs.sourceIds, r.inputs.snsTopic])
        .sort();
      expect(subscriptions).toEqual([
        ["db-instance", [`platform-databases-${stack}`], topic],
        ["db-parameter-group", [`platform-databases-${stack}-postgres17`], topic],
        ["db-security-group", undefined, topic],
      ]);
    });
  }
});

describe("the local test stack", () => {
  it("creates no pgaudit extension or schema: the embedded server ships no pgaudit", async () => {
    const run = await runProgram({ environment: "test", port: "55433" }, "test");
    expect(run.resources.filter((r) => r.type === "postgresql:index/database:Database")).toHaveLength(3);
    expect(run.resources.filter((r) => r.type === EXTENSION)).toEqual([]);
    expect(run.resources.filter((r) => r.type === SCHEMA).map((r) => r.inputs.name)).not.toContain("pgaudit");
  }, 120_000);
});

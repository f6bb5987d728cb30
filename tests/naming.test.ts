import { describe, expect, it } from "vitest";
import {
  databaseName,
  roleNames,
  validateEnvironment,
  validateServiceName,
  validateServiceList,
  monitoringRoleName,
  secretName,
  RESERVED_NAMES,
} from "../components/naming";

describe("databaseName (ADR-0060 convention)", () => {
  it.each([
    ["gdpr", "dev", "gdpr"],
    ["gdpr", "test", "gdpr_test"],
    ["gdpr", "staging", "gdpr"],
    ["gdpr", "prod", "gdpr"],
    ["openfga", "test", "openfga_test"],
    ["keycloak", "test", "keycloak_test"],
    ["keycloak", "prod", "keycloak"],
  ])("%s in %s is %s", (service, env, expected) => {
    expect(databaseName(service, env)).toBe(expected);
  });

  it("derives role names from the database name, so test roles carry _test", () => {
    expect(roleNames("gdpr", "test")).toEqual({
      login: "gdpr_test_app",
      users: ["gdpr_test_app_a", "gdpr_test_app_b"],
      owner: "gdpr_test_owner",
    });
    expect(roleNames("gdpr", "dev")).toEqual({
      login: "gdpr_app",
      users: ["gdpr_app_a", "gdpr_app_b"],
      owner: "gdpr_owner",
    });
    expect(roleNames("openfga", "prod").login).toBe("openfga_app");
  });

  it("names the monitoring role and Kubernetes Secret per environment", () => {
    expect(monitoringRoleName("test")).toBe("db_monitor_test");
    expect(monitoringRoleName("prod")).toBe("db_monitor");
    expect(secretName("gdpr", "test")).toBe("gdpr-test-database");
    expect(secretName("keycloak", "prod")).toBe("keycloak-database");
  });
});

describe("refusals name the value and the rule", () => {
  it("refuses an unknown environment", () => {
    expect(() => databaseName("gdpr", "production")).toThrow(
      'environment "production" is not one of dev, test, staging, prod',
    );
    expect(() => validateEnvironment(undefined)).toThrow("environment undefined is not one of");
  });

  it.each(["GDPR", "1gdpr", "gdpr-db", "", "gdpr db", "gdpr;drop"])(
    "refuses %j as not a lowercase identifier",
    (bad) => {
      expect(() => validateServiceName(bad)).toThrow(
        `service name ${JSON.stringify(bad)} is not a lowercase PostgreSQL identifier ([a-z][a-z0-9_]*)`,
      );
    },
  );

  it("refuses a service name ending in _test", () => {
    expect(() => databaseName("gdpr_test", "dev")).toThrow(
      'service name "gdpr_test" must not end in "_test"',
    );
  });

  it("refuses names longer than 63 bytes once derived", () => {
    const name = "a".repeat(58); // 58 + "_test" = 63 fits; + "_app" does not
    expect(databaseName(name, "test")).toHaveLength(63);
    expect(() => roleNames(name, "test")).toThrow(
      `login role name "${name}_test_app" is 67 bytes; PostgreSQL identifiers are at most 63 bytes`,
    );
    expect(() => databaseName("b".repeat(64), "dev")).toThrow(
      /is 64 bytes; PostgreSQL identifiers are at most 63/,
    );
  });

  it.each([
    "postgres",
    "template0",
    "template1",
    "public",
    "cloudsqladmin",
    "cloudsqlsuperuser",
    "rdsadmin",
    "rds_superuser",
  ])("refuses the reserved name %s", (name) => {
    expect(RESERVED_NAMES).toContain(name);
    expect(() => databaseName(name, "prod")).toThrow(
      `service name "${name}" is refused: "${name}" is reserved`,
    );
  });

  it("refuses names starting with pg_", () => {
    expect(() => validateServiceName("pg_stats")).toThrow(
      'service name "pg_stats" is refused: names starting with "pg_" are reserved by PostgreSQL',
    );
  });

  it("refuses duplicate services, naming both positions", () => {
    expect(() => validateServiceList(["gdpr", "openfga", "gdpr"])).toThrow(
      'services[2]: service "gdpr" is listed twice (first at services[0])',
    );
  });

  it("names the list position of an invalid entry", () => {
    expect(() => validateServiceList(["gdpr", "Bad"])).toThrow('services[1]: service name "Bad"');
  });
});

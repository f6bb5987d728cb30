import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  CONFIG_KEYS,
  ConfigError,
  parseStackConfig,
  SECRET_CONFIG_KEYS,
} from "../components/config/stack-config";

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("parseStackConfig", () => {
  it("defaults to the ADR's three services, gdpr managed-schema, the others self-migrating", () => {
    const cfg = parseStackConfig({ environment: "test" });
    expect(cfg.services.map((s) => [s.name, s.database, s.loginRole, s.profile, s.ownerRole])).toEqual([
      ["gdpr", "gdpr_test", "gdpr_test_app", "managed-schema", "gdpr_test_owner"],
      ["openfga", "openfga_test", "openfga_test_app", "self-migrating", undefined],
      ["keycloak", "keycloak_test", "keycloak_test_app", "self-migrating", undefined],
    ]);
    expect(cfg.target).toBe("local");
    expect(cfg.sslmode).toBe("disable");
    expect(cfg.postgresVersion).toBe(17);
    expect(cfg.adminUser).toBe("platform_admin");
    expect(cfg.monitoringRole).toBe("db_monitor_test");
  });

  it("adds a service by config alone", () => {
    const cfg = parseStackConfig({ environment: "dev", services: '["gdpr","openfga","keycloak","billing"]' });
    expect(cfg.services.map((s) => s.database)).toEqual(["gdpr", "openfga", "keycloak", "billing"]);
    expect(cfg.services[3].profile).toBe("self-migrating");
  });

  it("reports every problem at once, each with its key", () => {
    const err = errorOf(() =>
      parseStackConfig({
        environment: "production",
        services: '["gdpr","Bad-Name"]',
        connectionLimit: "-3",
      }),
    );
    expect(err.problems).toHaveLength(3);
    expect(err.message).toContain(
      'platform-databases:environment: "production" is not one of dev, test, staging, prod',
    );
    expect(err.message).toContain(
      'platform-databases:services[1]: service name "Bad-Name" is not a lowercase PostgreSQL identifier',
    );
    expect(err.message).toContain("platform-databases:connectionLimit: -3 is out of range (1..10000)");
  });

  it("requires an environment", () => {
    expect(errorOf(() => parseStackConfig({})).problems).toEqual([
      "environment: is required (one of dev, test, staging, prod)",
    ]);
  });

  it.each([
    [{ target: "azure" }, 'target: "azure" is not one of local, gcp, aws'],
    [{ postgresVersion: "12" }, "postgresVersion: 12 is out of range (15..18)"],
    [{ postgresVersion: "seventeen" }, 'postgresVersion: "seventeen" is not an integer'],
    [{ services: "gdpr" }, 'services: "gdpr" is not a list'],
    [{ services: "[]" }, "services: is empty: list at least one service"],
    [{ services: '["gdpr","gdpr"]' }, 'services[1]: service "gdpr" is listed twice'],
    [
      { managedSchemaServices: '["billing"]' },
      'managedSchemaServices[0]: "billing" is not one of the configured services',
    ],
    [{ port: "70000" }, "port: 70000 is out of range (1..65535)"],
    [{ sslmode: "prefer" }, 'sslmode: "prefer" is not one of disable, require, verify-ca, verify-full'],
    [{ adminUser: "Admin" }, 'adminUser: "Admin" is not a lowercase PostgreSQL identifier'],
    [{ monitoring: "yes" }, 'monitoring: "yes" is not true or false'],
  ])("refuses %j", (raw, message) => {
    const err = errorOf(() => parseStackConfig({ environment: "test", ...raw }));
    expect(err.problems.join("\n")).toContain(message);
  });

  it("keeps staging and prod off the local target and off plain-text connections", () => {
    expect(errorOf(() => parseStackConfig({ environment: "prod" })).problems).toContain(
      'target: "local" is for dev and test; environment "prod" runs on a managed server (gcp or aws)',
    );
    expect(
      errorOf(() => parseStackConfig({ environment: "prod", target: "gcp", sslmode: "disable" })).problems,
    ).toContain('sslmode: "disable" is refused for target "gcp": managed servers require TLS');
  });

  it("declares exactly the keys it reads in Pulumi.yaml, each with a type, a description and (but for environment) a default", () => {
    const project = parse(readFileSync("Pulumi.yaml", "utf8"));
    const declared = Object.keys(project.config).map((k) => k.replace(/^platform-databases:/, ""));
    expect(declared.sort()).toEqual([...CONFIG_KEYS].sort());
    for (const secret of SECRET_CONFIG_KEYS) expect(declared).not.toContain(secret);
    for (const [key, spec] of Object.entries<Record<string, unknown>>(project.config)) {
      expect(spec.description, key).toBeTruthy();
      expect(spec.type, key).toBeTruthy();
      // Pulumi treats a declared key without a default as required.
      if (key !== "platform-databases:environment") expect(spec, key).toHaveProperty("default");
    }
  });

  it("Pulumi.yaml defaults agree with the parser's", () => {
    const project = parse(readFileSync("Pulumi.yaml", "utf8"));
    const cfg = parseStackConfig({ environment: "dev" });
    const d = (k: string) => project.config[`platform-databases:${k}`].default;
    expect(cfg.services.map((s) => s.name)).toEqual(d("services"));
    expect(cfg.services.filter((s) => s.profile === "managed-schema").map((s) => s.name)).toEqual(
      d("managedSchemaServices"),
    );
    expect(cfg.postgresVersion).toBe(d("postgresVersion"));
    expect(cfg.services[0].connectionLimit).toBe(d("connectionLimit"));
    expect(cfg.adminUser).toBe(d("adminUser"));
    expect(cfg.target).toBe(d("target"));
  });
});

/**
 * The cloud keys as declared and documented: Pulumi.yaml declares the
 * defaults the parser uses (components/config/cloud-config.ts), the staging
 * and prod stack files are valid on both clouds and differ only where they
 * must, and docs/cloud.md's table gives each key its declared type and default.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseStackConfig } from "../components/config/stack-config";
import { CLOUD_CONFIG_KEYS, CLOUD_DEFAULTS } from "../components/config/cloud-config";
import { stackFileConfig } from "./helpers/cloud-mocks";

describe("Pulumi.yaml and the stack files", () => {
  const project = parse(readFileSync("Pulumi.yaml", "utf8"));
  const declared = (key: string) => project.config[`platform-databases:${key}`];

  it("declares the cloud defaults the parser uses", () => {
    for (const [key, value] of Object.entries(CLOUD_DEFAULTS)) {
      expect(declared(key)?.default, key).toEqual(value);
    }
    expect(declared("databaseFlags").default).toEqual([]);
    expect(declared("gcpAuthorizedNetworks").default).toEqual([]);
    for (const key of [
      "gcpProject",
      "gcpRegion",
      "gcpNetwork",
      "gcpTier",
      "awsRegion",
      "awsVpcId",
      "awsSubnetIds",
      "awsInstanceClass",
    ]) {
      // Required for its cloud: no default, or an empty one (Pulumi requires a
      // declared key without a default on every stack, the local ones included).
      expect([undefined, "", []], `${key} is required: no real default`).toContainEqual(
        declared(key).default,
      );
      expect(declared(key).description, key).toMatch(/Required for target (gcp|aws)/);
    }
  });

  it.each([
    ["staging", "gcp"],
    ["staging", "aws"],
    ["prod", "gcp"],
    ["prod", "aws"],
  ])("Pulumi.%s.yaml is valid for target %s", (stack, target) => {
    const cfg = parseStackConfig(stackFileConfig(stack, { target }));
    expect(cfg.environment).toBe(stack);
    expect(cfg.cloud?.cloud).toBe(target);
    expect(cfg.services.map((s) => s.database)).toEqual(["gdpr", "openfga", "keycloak"]);
  });

  it("staging and prod differ only in the keys that must differ", () => {
    const staging = stackFileConfig("staging");
    const prod = stackFileConfig("prod");
    expect(Object.keys(staging).sort()).toEqual(Object.keys(prod).sort());
    const differing = Object.keys(prod).filter((k) => staging[k] !== prod[k]);
    expect(differing.sort()).toEqual(
      [
        "environment",
        // HA, deletion protection, retention, size: what prod must have more of.
        "highAvailability",
        "deletionProtection",
        "backupRetentionDays",
        "gcpTier",
        "awsInstanceClass",
        "diskSizeGb",
        "diskAutoresizeLimitGb",
        // Each environment in its own project / VPC.
        "gcpProject",
        "gcpNetwork",
        "awsVpcId",
        "awsSubnetIds",
        "awsAllowedSecurityGroupIds",
      ].sort(),
    );
    expect([staging.highAvailability, prod.highAvailability]).toEqual(["false", "true"]);
    expect([staging.deletionProtection, prod.deletionProtection]).toEqual(["false", "true"]);
    expect(Number(prod.backupRetentionDays)).toBeGreaterThan(Number(staging.backupRetentionDays));
  });
});

describe("docs/cloud.md", () => {
  const project = parse(readFileSync("Pulumi.yaml", "utf8"));
  const rows = readFileSync("docs/cloud.md", "utf8")
    .split("\n")
    .map((line) =>
      /^\|\s*`([A-Za-z]+)`\s*\|\s*(string|integer|boolean|array)\s*\|\s*([^|]+?)\s*\|/.exec(line),
    )
    .filter((m): m is RegExpExecArray => m !== null);

  it("lists every cloud key once, and the cloud keys are the program's", () => {
    expect(rows.map((m) => m[1]).sort()).toEqual([...CLOUD_CONFIG_KEYS].sort());
  });

  it("gives each key the type and default Pulumi.yaml declares", () => {
    for (const [, key, type, cell] of rows) {
      const spec = project.config[`platform-databases:${key}`];
      expect(type, key).toBe(spec.type);
      const shown = cell.trim();
      const required = /Required for target/.test(spec.description);
      if (required) {
        expect(shown, key).toBe("**required**");
      } else if (spec.default === undefined || spec.default === "") {
        expect(shown, key).toMatch(/^(unset|`platform-databases-\{environment\}`)$/);
      } else {
        expect(shown, key).toBe(
          `\`${Array.isArray(spec.default) ? JSON.stringify(spec.default) : String(spec.default)}\``,
        );
      }
    }
  });
});

/**
 * migrations/000_init_databases.sh names things as the TypeScript does: its
 * --plan and naming.ts / stack-config.ts on the same inputs (every
 * environment, custom service lists, the longest names that fit, and every
 * refused input), its reserved names, the runner's version table, lock key
 * and login-role setting, and ADR-0060's environment detection. On real
 * servers: init-script-test-mode.test.ts and init-script-dev-mode.test.ts.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import {
  LOGIN_ROLE_SETTING,
  MIGRATION_LOCK_KEY,
  VERSION_TABLE_DDL,
} from "../components/schema/migration-runner";
import { databaseName, ENVIRONMENTS, RESERVED_NAMES, roleNames } from "../components/naming";
import { runScript, SCRIPT, ScriptResult } from "./helpers/init-script";

const SCRIPT_TEXT = readFileSync(SCRIPT, "utf8");

// One definition of the naming rules: the script's --plan against naming.ts
// and config.ts on the same inputs.

interface Inputs {
  environment: string;
  services?: string[];
  /** [] is "no managed-schema service" (MANAGED_SCHEMA_SERVICES=""). */
  managed?: string[];
  connectionLimit?: string;
}

function scriptPlan(inputs: Inputs): ScriptResult {
  const env: Record<string, string> = { PLATFORM_ENVIRONMENT: inputs.environment };
  if (inputs.services) env.SERVICES = inputs.services.join(" ");
  if (inputs.managed) env.MANAGED_SCHEMA_SERVICES = inputs.managed.join(",");
  if (inputs.connectionLimit !== undefined) env.CONNECTION_LIMIT = inputs.connectionLimit;
  return runScript(env, ["--plan"]);
}

/** What the TypeScript makes of the same inputs, in --plan's format (throws like the program). */
function typescriptPlan(inputs: Inputs): string {
  // parseStackConfig refuses target local for staging/prod; profiles and
  // limits do not depend on the environment, names are recomputed for it.
  const local =
    inputs.environment === "staging" || inputs.environment === "prod" ? "dev" : inputs.environment;
  const cfg = parseStackConfig({
    environment: local,
    services: inputs.services ? JSON.stringify(inputs.services) : undefined,
    managedSchemaServices: inputs.managed ? JSON.stringify(inputs.managed) : undefined,
    connectionLimit: inputs.connectionLimit,
  });
  const lines = [`environment=${inputs.environment}`];
  for (const svc of cfg.services) {
    const roles = roleNames(svc.name, inputs.environment);
    lines.push(
      `service=${svc.name} database=${databaseName(svc.name, inputs.environment)} login=${roles.login} owner=${
        svc.profile === "managed-schema" ? roles.owner : "-"
      } profile=${svc.profile} connection_limit=${svc.connectionLimit}`,
    );
  }
  return lines.join("\n") + "\n";
}

describe("000_init_databases.sh and the TypeScript name things alike", () => {
  const valid: Inputs[] = [];
  for (const environment of ENVIRONMENTS) {
    valid.push({ environment });
    valid.push({ environment, services: ["gdpr", "billing", "audit_trail"] });
    valid.push({
      environment,
      // openfga's smallest limit; gdpr's pools would need 23 (connection-budget.ts).
      services: ["openfga", "billing"],
      managed: ["openfga", "billing"],
      connectionLimit: "7",
    });
    valid.push({ environment, services: ["keycloak"] });
    valid.push({ environment, services: ["gdpr", "openfga"], managed: [] });
    valid.push({ environment, services: ["rds", "template", "a1", "pgx", "test_data"] });
  }
  // Longest names that still fit 63 bytes: `{svc}_backup` in dev, `{svc}_test_backup` in test.
  valid.push({ environment: "dev", services: ["x".repeat(56)] });
  valid.push({ environment: "test", services: ["x".repeat(51)] });

  it.each(valid.map((v) => [JSON.stringify(v), v] as const))("same names for %s", (_label, inputs) => {
    const script = scriptPlan(inputs);
    expect(script.stderr).toBe("");
    expect(script.status).toBe(0);
    expect(script.stdout).toBe(typescriptPlan(inputs));
  });

  const invalid: [string, Inputs, string][] = [
    ["uppercase", { environment: "dev", services: ["GDPR"] }, '"GDPR"'],
    ["a _test suffix", { environment: "test", services: ["gdpr_test"] }, '"gdpr_test"'],
    ["a pg_ prefix", { environment: "dev", services: ["pg_stats"] }, '"pg_stats"'],
    ["a leading digit", { environment: "dev", services: ["1gdpr"] }, '"1gdpr"'],
    ["a dash", { environment: "dev", services: ["gdpr-db"] }, '"gdpr-db"'],
    ["a duplicate", { environment: "dev", services: ["gdpr", "openfga", "gdpr"] }, '"gdpr" is listed twice'],
    ["64 bytes in dev", { environment: "dev", services: ["x".repeat(57)] }, "64 bytes"],
    ["64 bytes in test", { environment: "test", services: ["x".repeat(52)] }, "64 bytes"],
    [
      "an unknown managed service",
      { environment: "dev", services: ["openfga"], managed: ["gdpr"] },
      '"gdpr"',
    ],
    ["connection limit 0", { environment: "dev", connectionLimit: "0" }, "0"],
    ["connection limit 10001", { environment: "dev", connectionLimit: "10001" }, "10001"],
    ["a non-integer connection limit", { environment: "dev", connectionLimit: "many" }, '"many"'],
    ["an unknown environment", { environment: "qa" }, '"qa"'],
    ...RESERVED_NAMES.map((name): [string, Inputs, string] => [
      `reserved name ${name}`,
      { environment: "dev", services: ["gdpr", name] },
      `"${name}"`,
    ]),
  ];

  it.each(invalid)("both refuse %s, naming the value", (_label, inputs, named) => {
    expect(() => typescriptPlan(inputs)).toThrow();
    const script = scriptPlan(inputs);
    expect(script.status).toBe(1);
    expect(script.stdout).toBe("");
    expect(script.stderr).toContain("ERROR");
    expect(script.stderr).toContain(named);
  });

  it("its reserved-name list is naming.ts's", () => {
    const m = /^RESERVED_NAMES=\(([^)]*)\)/m.exec(SCRIPT_TEXT);
    expect(m, "RESERVED_NAMES=( … ) in the script").not.toBeNull();
    expect(m![1].split(/\s+/).filter(Boolean).sort()).toEqual([...RESERVED_NAMES].sort());
  });

  it("it writes the runner's version table and uses its lock key and login-role setting", () => {
    expect(SCRIPT_TEXT).toContain(`MIGRATION_LOCK_KEY=${MIGRATION_LOCK_KEY}\n`);
    expect(SCRIPT_TEXT).toContain(`LOGIN_ROLE_SETTING=${LOGIN_ROLE_SETTING}\n`);
    // The script's copy sits in a double-quoted bash string, where `$` is escaped.
    const m = /^VERSION_TABLE_DDL="([^"]*)"$/m.exec(SCRIPT_TEXT);
    expect(m).not.toBeNull();
    expect(m![1].replace(/\\\$/g, "$")).toBe(VERSION_TABLE_DDL);
  });

  it("ADR-0060 detection: POSTGRES_DB ending in _test selects test, anything else dev", () => {
    expect(runScript({ POSTGRES_DB: "gdpr_test" }, ["--plan"]).stdout).toBe(
      typescriptPlan({ environment: "test" }),
    );
    expect(runScript({ POSTGRES_DB: "postgres" }, ["--plan"]).stdout).toBe(
      typescriptPlan({ environment: "dev" }),
    );
    expect(runScript({}, ["--plan"]).stdout).toBe(typescriptPlan({ environment: "dev" }));
  });
});

/**
 * The connection budget (components/config/connection-budget.ts): every chart
 * service's pool fits its role's limit, every role's limit fits the server's
 * max_connections. Pure rules, the config keys that feed them, and, on a
 * real server through the real engine, a misfit refused before any change.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONNECTION_HEADROOM } from "../components/config/openfga-connections";
import {
  APP_POOL_SIZE,
  DEFAULT_RESERVED_CONNECTIONS,
  MONITORING_CONNECTION_LIMIT,
  RETENTION_CONNECTION_LIMIT,
  connectionBudgetProblems,
  keycloakPoolSize,
} from "../components/config/connection-budget";
import type { BudgetInput } from "../components/config/connection-budget";
import { ConfigError, parseStackConfig } from "../components/config/stack-config";
import { cloudSqlMaxConnections, rdsMaxConnections } from "../components/config/server-connections";
import { ProgramStack, startProgramStack } from "./helpers/program-stack";

const ROOT = join(__dirname, "..");

function stackRaw(stack: string, over: Record<string, string> = {}): Record<string, string> {
  const config = (
    parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }
  ).config;
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    raw[key.replace("platform-databases:", "")] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { ...raw, ...over };
}

function problemsOf(raw: Record<string, string>): string[] {
  try {
    parseStackConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const defaults = (max?: number): BudgetInput => ({
  services: ["gdpr", "openfga", "keycloak"].map((name) => ({
    name,
    connectionLimit: 25,
    key: "connectionLimit" as const,
  })),
  retentionRoles: 1,
  monitoring: true,
  reservedConnections: DEFAULT_RESERVED_CONNECTIONS,
  appMaxReplicas: 2,
  maxConnections: max === undefined ? undefined : { value: max, source: "maxConnections" },
});

describe("connection budget: the rules", () => {
  it("the defaults fit PostgreSQL's default max_connections (100), exactly as docs/config.md adds them up", () => {
    expect(
      3 * 25 + RETENTION_CONNECTION_LIMIT + MONITORING_CONNECTION_LIMIT + DEFAULT_RESERVED_CONNECTIONS,
    ).toBe(92);
    expect(connectionBudgetProblems(defaults(100))).toEqual([]);
    expect(connectionBudgetProblems(defaults(92))).toEqual([]);
  });

  it("refuses one connection too many on the server, naming every number and the keys to change", () => {
    expect(connectionBudgetProblems(defaults(91))).toEqual([
      {
        key: "connectionLimit",
        message:
          "the roles' limits do not fit the server's max_connections 91 (maxConnections): services 75 " +
          "(gdpr 25, openfga 25, keycloak 25) + retention 2 + monitoring 5 + reservedConnections 10 = 92; " +
          "lower connectionLimit / connectionLimits or reservedConnections, or raise max_connections " +
          "(maxConnections, a max_connections database flag, or a bigger instance)",
      },
    ]);
  });

  it("refuses the chart's own autoscaling (20 replicas × 10) against a limit of 25, the issue's case", () => {
    const input = { ...defaults(), appMaxReplicas: 20 };
    expect(connectionBudgetProblems(input)).toEqual([
      {
        key: "appMaxReplicas",
        message:
          "20 does not fit gdpr's connection limit 25 (connectionLimit): the application's pools need 20 " +
          "replicas × 10 connections + 2 held back = 202; raise connectionLimits gdpr=202 or lower " +
          "appMaxReplicas to 2",
      },
    ]);
    // The boundary: exactly the limit fits.
    const fits = { ...input, services: input.services.map((s) => ({ ...s, connectionLimit: 202 })) };
    expect(connectionBudgetProblems(fits)).toEqual([]);
    expect(20 * APP_POOL_SIZE + CONNECTION_HEADROOM).toBe(202);
  });

  it("refuses an openfga or keycloak limit that leaves a pod no connection, and sizes Keycloak's pool", () => {
    const small = (name: string, connectionLimit: number) => ({
      ...defaults(),
      services: [{ name, connectionLimit, key: "connectionLimits" as const }],
    });
    expect(connectionBudgetProblems(small("openfga", 5))).toEqual([
      {
        key: "connectionLimits",
        message:
          "5 is too small for openfga's 3 replicas: 2 connections are kept for admin sessions and exiting " +
          "backends and 4 pods run during a rollout, each migrating before it serves, so it must be at least 6",
      },
    ]);
    expect(connectionBudgetProblems(small("openfga", 6))).toEqual([]);
    expect(connectionBudgetProblems(small("keycloak", 3))[0].message).toBe(
      "3 is too small for keycloak's 2 replicas: 2 connections are held back and each pod needs at least one, " +
        "so it must be at least 4",
    );
    expect(connectionBudgetProblems(small("keycloak", 4))).toEqual([]);
    expect(keycloakPoolSize(25)).toBe(11);
    expect(keycloakPoolSize(5)).toBe(1);
  });

  it("skips the server check when max_connections is unknown (a local server not reachable)", () => {
    const input = {
      ...defaults(),
      services: defaults().services.map((s) => ({ ...s, connectionLimit: 5000 })),
    };
    expect(connectionBudgetProblems(input)).toEqual([]);
    expect(connectionBudgetProblems({ ...input, maxConnections: { value: 100, source: "x" } })).toHaveLength(
      1,
    );
  });
});

describe("connection budget: the server's max_connections per tier / class", () => {
  it("Cloud SQL: the documented default by the tier's memory; unknown tiers have none", () => {
    expect(cloudSqlMaxConnections("db-f1-micro")).toBe(25);
    expect(cloudSqlMaxConnections("db-g1-small")).toBe(50);
    expect(cloudSqlMaxConnections("db-custom-1-3840")).toBe(100);
    expect(cloudSqlMaxConnections("db-custom-4-16384")).toBe(250);
    expect(cloudSqlMaxConnections("db-perf-optimized-N-4")).toBe(300);
    expect(cloudSqlMaxConnections("db-n1-standard-1")).toBeUndefined();
  });

  it("RDS: LEAST(memory/9531392, 5000) on 90 % of the class's memory; unknown classes have none", () => {
    expect(rdsMaxConnections("db.t4g.medium")).toBe(405);
    expect(rdsMaxConnections("db.m7g.xlarge")).toBe(1622);
    expect(rdsMaxConnections("db.r6g.16xlarge")).toBe(5000);
    expect(rdsMaxConnections("db.x2g.large")).toBeUndefined();
  });
});

describe("connection budget: config keys", () => {
  it("every committed stack passes with its defaults, on both clouds", () => {
    for (const stack of ["dev", "test", "staging", "prod"]) expect(problemsOf(stackRaw(stack))).toEqual([]);
    for (const stack of ["staging", "prod"])
      expect(problemsOf(stackRaw(stack, { target: "aws" }))).toEqual([]);
    const staging = parseStackConfig(stackRaw("staging"));
    expect(staging.connectionBudget.maxConnections).toEqual({
      value: 100,
      source: 'the default of gcpTier "db-custom-1-3840"',
    });
    // Local: unknown here, read from the server by read-config.ts.
    expect(parseStackConfig(stackRaw("test")).connectionBudget.maxConnections).toBeUndefined();
  });

  it("refuses a misfit with the numbers and the key, a max_connections flag or maxConnections overriding the tier", () => {
    expect(problemsOf(stackRaw("staging", { connectionLimit: "30" }))).toEqual([
      "connectionLimit: the roles' limits do not fit the server's max_connections 100 (the default of gcpTier " +
        '"db-custom-1-3840"): services 90 (gdpr 30, openfga 30, keycloak 30) + retention 2 + backup 6 + ' +
        "monitoring 5 + reservedConnections 10 = 113; lower connectionLimit / connectionLimits or reservedConnections, or raise " +
        "max_connections (maxConnections, a max_connections database flag, or a bigger instance)",
    ]);
    expect(
      problemsOf(stackRaw("staging", { connectionLimit: "30", databaseFlags: '["max_connections=200"]' })),
    ).toEqual([]);
    expect(problemsOf(stackRaw("staging", { connectionLimit: "30", maxConnections: "113" }))).toEqual([]);
    expect(problemsOf(stackRaw("test", { maxConnections: "91" }))[0]).toMatch(
      /^connectionLimit: the roles' limits do not fit the server's max_connections 91 \(maxConnections\)/,
    );
    expect(problemsOf(stackRaw("staging", { gcpTier: "db-n1-standard-2" }))).toEqual([
      'maxConnections: is required with gcpTier "db-n1-standard-2": its default max_connections is not known ' +
        "here; set maxConnections (or a max_connections database flag)",
    ]);
  });

  it("connectionLimits overrides one service's limit; bad entries are refused with their index", () => {
    const cfg = parseStackConfig(
      stackRaw("test", { connectionLimits: '["gdpr=202"]', appMaxReplicas: "20" }),
    );
    expect(cfg.services.map((s) => [s.name, s.connectionLimit])).toEqual([
      ["gdpr", 202],
      ["openfga", 25],
      ["keycloak", 25],
    ]);
    expect(problemsOf(stackRaw("test", { appMaxReplicas: "20" }))).toEqual([
      "appMaxReplicas: 20 does not fit gdpr's connection limit 25 (connectionLimit): the application's pools " +
        "need 20 replicas × 10 connections + 2 held back = 202; raise connectionLimits gdpr=202 or lower " +
        "appMaxReplicas to 2",
    ]);
    expect(
      problemsOf(
        stackRaw("test", { connectionLimits: '["gdpr","billing=3","gdpr=0","openfga=9","openfga=8"]' }),
      ),
    ).toEqual([
      'connectionLimits[0]: "gdpr" is not service=N (e.g. gdpr=60)',
      'connectionLimits[1]: "billing" is not one of the configured services (gdpr, openfga, keycloak)',
      'connectionLimits[2]: "gdpr=0": 0 is out of range (1..10000)',
      'connectionLimits[4]: "openfga" is listed twice',
    ]);
  });
});

describe("connection budget on a real server, through the real engine", () => {
  let stack: ProgramStack;
  beforeAll(async () => {
    stack = await startProgramStack();
  }, 300_000);
  afterAll(() => stack?.stop());

  async function limits(): Promise<Record<string, number>> {
    const c = await stack.superuser();
    try {
      const r = await c.query<{ rolname: string; rolconnlimit: number }>(
        "SELECT rolname, rolconnlimit FROM pg_roles WHERE rolname LIKE '%\\_test\\_app' ORDER BY rolname",
      );
      return Object.fromEntries(r.rows.map((row) => [row.rolname, row.rolconnlimit]));
    } finally {
      await c.end();
    }
  }

  it("refuses a misfit against the server's own max_connections before any change; a fit applies", async () => {
    const before = await limits();
    expect(before).toEqual({ gdpr_test_app: 25, keycloak_test_app: 25, openfga_test_app: 25 });
    const c = await stack.superuser();
    const max = Number((await c.query("SHOW max_connections")).rows[0].max_connections);
    await c.end();
    // As the local stacks' servers (scripts/local-server.ts), pg-server.ts starts it with 200.
    expect(max).toBe(200);
    // gdpr 140 + 25 + 25 + retention 2 + backup 6 + monitoring 5 + reserved 10 = 213 > the server's 200.
    await expect(stack.up({ config: { connectionLimits: ["gdpr=140"] } })).rejects.toThrow(
      `connectionLimit: the roles' limits do not fit the server's max_connections 200 (the server at ` +
        `127.0.0.1:${stack.server.port}): services 190 (gdpr 140, openfga 25, keycloak 25) + retention 2 + ` +
        `backup 6 + monitoring 5 + reservedConnections 10 = 213`,
    );
    expect(await limits()).toEqual(before);
    // 127 + 25 + 25 + 23 = 200: fits exactly, and the engine applies it.
    await stack.up({ config: { connectionLimits: ["gdpr=127"] } });
    expect(await limits()).toEqual({ ...before, gdpr_test_app: 127 });
  }, 300_000);
});

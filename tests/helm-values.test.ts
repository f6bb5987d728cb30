/**
 * The Helm values renderer per target (local, Cloud SQL, RDS), the values
 * file and env scripts on the program's outputs (run under mocks), and that
 * no password reaches a values file.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import {
  clusterEndpoints,
  CONNECTION_HEADROOM,
  HelmValuesInput,
  openfgaMaxOpenConns,
  renderHelmValues,
} from "../components/cluster/helm-values";
import { OPENFGA_MIGRATE_CONNECTIONS } from "../components/config/connection-budget";
import { secretStringData } from "../components/cluster/database-secrets";
import { envVars, formatEnv, formatEnvLine, MASK } from "../scripts/env";
import { applicationEnvYaml, helmValuesYaml, StackOutputs, writeHelmValues } from "../scripts/helm-values";
import { installMocks, isSecret, resetRecorded, settle, unwrap } from "./helpers/mocks";
import { helmInput } from "./helpers/helm-input";

const ROOT = resolve(__dirname, "..");

function input(environment: string, server: Partial<HelmValuesInput>, limit = 25): HelmValuesInput {
  return helmInput(environment, server, { connectionLimit: limit });
}

/** Deep equality including key order (the YAML is written in insertion order). */
function expectSameOrder(actual: unknown, expected: unknown): void {
  expect(actual).toEqual(expected);
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
}

describe("renderHelmValues per target", () => {
  it("local (test stack): the _test names, direct connection, no proxy, no TLS params", () => {
    const values = renderHelmValues(input("test", { host: "127.0.0.1", port: 55433, sslmode: "disable" }));
    expectSameOrder(values, {
      postgresql: {
        enabled: false,
        external: {
          host: "127.0.0.1",
          port: 55433,
          database: "gdpr_test",
          username: "gdpr_test_app",
          existingSecret: "gdpr-test-database",
          existingSecretPasswordKey: "postgres-password",
          sslMode: "disable",
        },
      },
      config: { gdprStorageBackend: "postgres" },
      autoscaling: { maxReplicas: 2 },
      openfga: {
        postgresql: { enabled: false },
        datastore: {
          engine: "postgres",
          uriSecret: "openfga-test-database",
          applyMigrations: true,
          migrationType: "initContainer",
          maxOpenConns: 5,
        },
      },
      keycloak: {
        postgresql: { enabled: false },
        externalDatabase: {
          host: "127.0.0.1",
          port: 55433,
          database: "keycloak_test",
          user: "keycloak_test_app",
          existingSecret: "keycloak-test-database",
          existingSecretUserKey: "db-user",
          existingSecretPasswordKey: "db-password",
        },
        extraEnvVars: [{ name: "KC_DB_POOL_MAX_SIZE", value: "11" }],
      },
    });
  });

  it("Cloud SQL (prod): the application through its proxy sidecar, openfga and keycloak to the private IP over TLS", () => {
    const values = renderHelmValues(
      input("prod", {
        host: "10.20.0.3",
        port: 5432,
        sslmode: "require",
        cloudSqlInstanceConnectionName: "acme-prod:europe-west1:platform-pg",
      }),
    );
    expectSameOrder(values, {
      postgresql: {
        enabled: false,
        external: {
          host: "127.0.0.1",
          port: 5432,
          database: "gdpr",
          username: "gdpr_app",
          existingSecret: "gdpr-database",
          existingSecretPasswordKey: "postgres-password",
          sslMode: "disable",
          cloud: {
            cloudSql: { enabled: true, instanceConnectionName: "acme-prod:europe-west1:platform-pg" },
          },
        },
      },
      config: { gdprStorageBackend: "postgres" },
      autoscaling: { maxReplicas: 2 },
      openfga: {
        postgresql: { enabled: false },
        datastore: {
          engine: "postgres",
          uriSecret: "openfga-database",
          applyMigrations: true,
          migrationType: "initContainer",
          maxOpenConns: 5,
        },
      },
      keycloak: {
        postgresql: { enabled: false },
        externalDatabase: {
          host: "10.20.0.3",
          port: 5432,
          database: "keycloak",
          user: "keycloak_app",
          existingSecret: "keycloak-database",
          existingSecretUserKey: "db-user",
          existingSecretPasswordKey: "db-password",
          extraParams: "sslmode=require",
        },
        extraEnvVars: [{ name: "KC_DB_POOL_MAX_SIZE", value: "11" }],
      },
    });
  });

  it("RDS (staging): every consumer to the endpoint with the stack's sslmode, no Cloud SQL block", () => {
    const host = "platform.c9akciq32.eu-west-1.rds.amazonaws.com";
    const values = renderHelmValues(input("staging", { host, port: 5432, sslmode: "verify-full" }, 40));
    expectSameOrder(values.postgresql, {
      enabled: false,
      external: {
        host,
        port: 5432,
        database: "gdpr",
        username: "gdpr_app",
        existingSecret: "gdpr-database",
        existingSecretPasswordKey: "postgres-password",
        sslMode: "verify-full",
      },
    });
    expect(values.openfga?.datastore.maxOpenConns).toBe(9); // (40 - 2) / (3 + 1)
    expectSameOrder(values.keycloak?.externalDatabase, {
      host,
      port: 5432,
      database: "keycloak",
      user: "keycloak_app",
      existingSecret: "keycloak-database",
      existingSecretUserKey: "db-user",
      existingSecretPasswordKey: "db-password",
      extraParams: "sslmode=verify-full",
    });
  });

  it("renders the chart's services it has, and any other under platformDatabases", () => {
    const all = input("dev", {});
    const values = renderHelmValues({
      ...all,
      services: {
        openfga: all.services.openfga,
        billing: {
          database: "billing",
          user: "billing_app",
          secretName: "billing-database",
          connectionLimit: 25,
        },
      },
    });
    expect(Object.keys(values)).toEqual(["openfga", "platformDatabases"]);
    expect(values.platformDatabases).toEqual({
      billing: {
        host: all.host,
        port: all.port,
        database: "billing",
        username: "billing_app",
        sslMode: all.sslmode,
        existingSecret: "billing-database",
      },
    });
  });

  it("is deterministic", () => {
    const a = input("test", { port: 55433 });
    expect(JSON.stringify(renderHelmValues(a))).toBe(JSON.stringify(renderHelmValues(structuredClone(a))));
  });

  it.each<[string, (i: HelmValuesInput) => HelmValuesInput, string]>([
    [
      "a database name that is not the environment's",
      (i) => ({ ...i, services: { ...i.services, gdpr: { ...i.services.gdpr, database: "gdpr" } } }),
      'services.gdpr.database "gdpr" does not follow ADR-0060 for environment "test" (expected "gdpr_test")',
    ],
    [
      "a Secret name Kubernetes refuses",
      (i) => ({
        ...i,
        services: { ...i.services, keycloak: { ...i.services.keycloak, secretName: "Keycloak_DB" } },
      }),
      'services.keycloak.secretName "Keycloak_DB" is not a Kubernetes Secret name',
    ],
    [
      "a malformed Cloud SQL connection name",
      (i) => ({ ...i, sslmode: "require", cloudSqlInstanceConnectionName: "platform-pg" }),
      'cloudSqlInstanceConnectionName "platform-pg" is not of the form project:region:instance',
    ],
    [
      "plain-text connections to Cloud SQL",
      (i) => ({ ...i, cloudSqlInstanceConnectionName: "acme:europe-west1:pg" }),
      'sslmode "disable" is refused with Cloud SQL',
    ],
    ["port 0", (i) => ({ ...i, port: 0 }), "port 0 is not a port number (1..65535)"],
    ["an empty host", (i) => ({ ...i, host: "" }), 'host "" is not a host name or address'],
    [
      "an unknown sslmode",
      (i) => ({ ...i, sslmode: "on" }),
      'sslmode "on" is not one of disable, allow, prefer',
    ],
    [
      "an unknown environment",
      (i) => ({ ...i, environment: "qa" }),
      'environment "qa" is not one of dev, test, staging, prod',
    ],
  ])("refuses %s, naming the key and the value", (_what, change, message) => {
    expect(() => renderHelmValues(change(input("test", {})))).toThrow(message);
  });
});

describe("openfga maxOpenConns", () => {
  it("keeps every pod of a rollout inside the role's limit, less the headroom", () => {
    for (const [limit, replicas] of [
      [25, 3],
      [25, 1],
      [7, 3],
      [100, 8],
      [10000, 40],
    ]) {
      const perPod = openfgaMaxOpenConns(limit, replicas);
      const rolloutPods = replicas + Math.ceil(replicas / 4);
      expect(perPod).toBeGreaterThanOrEqual(1);
      expect(perPod * rolloutPods + CONNECTION_HEADROOM, `${limit}/${replicas}`).toBeLessThanOrEqual(limit);
      // The largest such pool: one more connection per pod would overflow.
      expect((perPod + 1) * rolloutPods + CONNECTION_HEADROOM, `${limit}/${replicas}`).toBeGreaterThan(limit);
    }
    expect(openfgaMaxOpenConns(25, 1)).toBe(11);
    // The smallest limit the config accepts for 3 replicas: one connection per pod, enough for its migration.
    expect(openfgaMaxOpenConns(6, 3)).toBe(OPENFGA_MIGRATE_CONNECTIONS);
  });

  it("keeps no connection for a migration Job: each pod migrates (one connection) before its pool opens", () => {
    expect(CONNECTION_HEADROOM).toBe(2); // an operator's psql, an exiting backend
    expect(renderHelmValues(input("test", {})).openfga?.datastore.migrationType).toBe("initContainer");
    // Default limit 25, 3 replicas: 4 pods of 5 connections, plus the headroom.
    expect(openfgaMaxOpenConns(25, 3) * 4 + CONNECTION_HEADROOM).toBe(22);
  });

  it("refuses a limit that leaves no connection per pod, saying what it must be", () => {
    expect(() => openfgaMaxOpenConns(5, 3)).toThrow(
      "services.openfga.connectionLimit 5 is too small for 3 OpenFGA replicas: 2 connections are kept for admin sessions and exiting backends and 4 pods run during a rollout, each migrating before it serves, so it must be at least 6",
    );
    expect(() => renderHelmValues(input("test", {}, 5))).toThrow("must be at least 6");
  });
});

describe("the Secrets' URLs use the endpoints the values give", () => {
  const password = "p@ss:w/o?r#d%";
  const data = (i: HelmValuesInput, service: "gdpr" | "openfga") =>
    Object.values(
      secretStringData(service, {
        user: i.services[service].user,
        password,
        database: i.services[service].database,
        ...clusterEndpoints(i)[service],
      }),
    ).find((v) => v.includes("://")) as string;

  it("local: direct, the password URL-encoded", () => {
    const i = input("test", { port: 55433 });
    expect(data(i, "gdpr")).toBe(
      "postgresql://gdpr_test_app:p%40ss%3Aw%2Fo%3Fr%23d%25@127.0.0.1:55433/gdpr_test?sslmode=disable",
    );
    expect(data(i, "openfga")).toBe(
      "postgres://openfga_test_app:p%40ss%3Aw%2Fo%3Fr%23d%25@127.0.0.1:55433/openfga_test?sslmode=disable",
    );
    expect(decodeURIComponent(new URL(data(i, "openfga")).password)).toBe(password);
  });

  it("Cloud SQL: the application's URL goes to its proxy sidecar, OpenFGA's to the instance over TLS", () => {
    const i = input("prod", {
      host: "10.20.0.3",
      sslmode: "require",
      cloudSqlInstanceConnectionName: "acme:europe-west1:pg",
    });
    expect(data(i, "gdpr")).toBe(
      "postgresql://gdpr_app:p%40ss%3Aw%2Fo%3Fr%23d%25@127.0.0.1:5432/gdpr?sslmode=disable",
    );
    expect(data(i, "openfga")).toBe(
      "postgres://openfga_app:p%40ss%3Aw%2Fo%3Fr%23d%25@10.20.0.3:5432/openfga?sslmode=require",
    );
  });

  it("RDS: to the endpoint with the stack's sslmode", () => {
    const i = input("staging", { host: "db.example.internal", sslmode: "verify-full" });
    expect(data(i, "gdpr")).toBe(
      "postgresql://gdpr_app:p%40ss%3Aw%2Fo%3Fr%23d%25@db.example.internal:5432/gdpr?sslmode=verify-full",
    );
  });
});

// The program's outputs, as `pulumi stack output --json` prints them.

type Program = typeof import("../index");

/** Runs index.ts under mocks and waits until every resource it registers has been recorded. */
async function program(config: Record<string, string>): Promise<Program> {
  vi.resetModules();
  resetRecorded();
  await installMocks(config);
  const p = (await import("../index")) as Program;
  await Promise.all([unwrap(p.helmValues), unwrap(p.connectionUris)]);
  await settle();
  await settle();
  return p;
}

async function stackOutputs(p: Program, showSecrets: boolean): Promise<StackOutputs> {
  const out = {
    environment: p.environment,
    databaseNames: await unwrap(p.databaseNames),
    roles: await unwrap(p.roles),
    connection: await unwrap(pulumi.output(p.connection)),
    connectionUris: showSecrets ? await unwrap(p.connectionUris) : "[secret]",
    helmValues: await unwrap(p.helmValues),
  };
  return JSON.parse(JSON.stringify(out)) as StackOutputs;
}

/** The mock passwords (helpers/mocks.ts: `mock-password-<resource>-@:/?#%`), raw and encoded. */
function mockPasswords(uris: Record<string, string>): string[] {
  return Object.values(uris).flatMap((u) => {
    const encoded = new URL(u).password;
    return [encoded, decodeURIComponent(encoded)];
  });
}

describe("helmValues output and make helm-values", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("holds no secret: not marked secret, and no password in the file", async () => {
    const p = await program({
      environment: "test",
      port: "55433",
      kubernetes: "true",
      namespace: "platform",
    });
    expect(await isSecret(p.helmValues)).toBe(false);
    const secrets = mockPasswords(await unwrap(p.connectionUris));
    expect(secrets.some((s) => s.includes("mock-password-"))).toBe(true);
    const text = helmValuesYaml("test", await stackOutputs(p, false));
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/mock-password|:\/\/[^ ]*@/);
  });

  it("writes values-<stack>.generated.yaml: a generated header naming the stack, then the values", async () => {
    const p = await program({ environment: "test", port: "55433" });
    const outputs = await stackOutputs(p, false);
    const dir = mkdtempSync(join(tmpdir(), "helm-values-"));
    dirs.push(dir);
    const paths = writeHelmValues("test", outputs, dir);
    expect(paths.values).toBe(join(dir, "values-test.generated.yaml"));
    const text = readFileSync(paths.values, "utf8");
    expect(text.split("\n")[0]).toMatch(
      /^# GENERATED FILE - do not edit\. Written by `make helm-values STACK=test`$/,
    );
    expect(text).toContain('Pulumi stack "test"');
    expect(parse(text)).toEqual(outputs.helmValues);
    expect(parse(text).postgresql.external.database).toBe("gdpr_test");
    expect(parse(text).keycloak.externalDatabase.database).toBe("keycloak_test");
    // Same outputs, same bytes.
    expect(helmValuesYaml("test", outputs)).toBe(text);
  });

  it("refuses outputs without helmValues, values holding a secret, and a stack name that is a path", () => {
    const base = {
      environment: "dev",
      databaseNames: {},
      roles: {},
      connection: { host: "h", port: 1, sslmode: "disable" },
      connectionUris: "[secret]",
    };
    expect(() => helmValuesYaml("dev", base)).toThrow(
      'stack "dev" has no helmValues output: run `make up STACK=dev` first',
    );
    expect(() =>
      helmValuesYaml("dev", {
        ...base,
        helmValues: { postgresql: { external: { password: "[secret]" } } } as never,
      }),
    ).toThrow('stack "dev": helmValues holds a secret');
    expect(() => writeHelmValues("../../etc/x", { ...base, helmValues: {} }, tmpdir())).toThrow(
      'stack "../../etc/x" is not a stack name',
    );
  });
});

describe("docs/helm.md's example files", () => {
  it("are what make helm-values writes for the test stack (Pulumi.test.yaml): the values and the application env", async () => {
    const stackFile = parse(readFileSync(join(ROOT, "Pulumi.test.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    const config = Object.fromEntries(
      Object.entries(stackFile.config).map(([k, v]) => [k.replace(/^platform-databases:/, ""), String(v)]),
    );
    const outputs = await stackOutputs(await program(config), false);
    const expected = { values: helmValuesYaml("test", outputs), env: applicationEnvYaml("test", outputs) };
    // Every generated block in the docs (docs/helm.md; the README if it shows one).
    const blocks = ["docs/helm.md", "README.md"]
      .filter((f) => existsSync(join(ROOT, f)))
      .flatMap((f) =>
        [...readFileSync(join(ROOT, f), "utf8").matchAll(/```yaml\n(# GENERATED FILE[\s\S]*?)```/g)].map(
          (m) => [f, m[1]],
        ),
      );
    const kind = (block: string) => (/^kind: Deployment$/m.test(block) ? "env" : "values");
    expect(blocks.filter(([f]) => f === "docs/helm.md").map(([, b]) => kind(b))).toEqual(["values", "env"]);
    for (const [file, block] of blocks) expect(block, file).toBe(expected[kind(block)]);
  });
});

describe("make env", () => {
  it("prints the ADR's variables with passwords masked by default", async () => {
    const p = await program({ environment: "test", port: "55433" });
    const outputs = await stackOutputs(p, false);
    const vars = envVars(outputs);
    expect(vars.map(([k]) => k)).toEqual([
      "GDPR_STORAGE_BACKEND",
      "GDPR_POSTGRES_URL",
      "OPENFGA_DATASTORE_ENGINE",
      "OPENFGA_DATASTORE_URI",
      "KC_DB",
      "KC_DB_URL",
      "KC_DB_USERNAME",
      "KC_DB_PASSWORD",
    ]);
    expect(Object.fromEntries(vars)).toEqual({
      GDPR_STORAGE_BACKEND: "postgres",
      GDPR_POSTGRES_URL: `postgresql://gdpr_test_app_a:${MASK}@127.0.0.1:55433/gdpr_test?sslmode=disable`,
      OPENFGA_DATASTORE_ENGINE: "postgres",
      OPENFGA_DATASTORE_URI: `postgres://openfga_test_app_a:${MASK}@127.0.0.1:55433/openfga_test?sslmode=disable`,
      KC_DB: "postgres",
      KC_DB_URL: "jdbc:postgresql://127.0.0.1:55433/keycloak_test",
      KC_DB_USERNAME: "keycloak_test_app_a",
      KC_DB_PASSWORD: MASK,
    });
    const text = formatEnv("test", outputs);
    for (const secret of mockPasswords(await unwrap(p.connectionUris))) expect(text).not.toContain(secret);
    expect(text).toContain("ARGS=--show-secrets");
  });

  it("with --show-secrets, carries each role's password, URL-encoded in URLs", async () => {
    const p = await program({ environment: "test", port: "55433" });
    const uris = await unwrap(p.connectionUris);
    const vars = Object.fromEntries(envVars(await stackOutputs(p, true), { showSecrets: true }));
    expect(vars.GDPR_POSTGRES_URL).toBe(uris.gdpr);
    const fga = new URL(vars.OPENFGA_DATASTORE_URI);
    expect(fga.protocol).toBe("postgres:");
    expect(decodeURIComponent(fga.username)).toBe("openfga_test_app_a");
    expect(fga.password).toBe(new URL(uris.openfga).password);
    expect(fga.password).toContain("%40%3A%2F%3F%23%25");
    expect(vars.KC_DB_USERNAME).toBe("keycloak_test_app_a");
    expect(vars.KC_DB_PASSWORD).toBe(decodeURIComponent(new URL(uris.keycloak).password));
    expect(vars.KC_DB_PASSWORD).toMatch(/@:\/\?#%$/);
  });

  it("refuses --show-secrets on outputs read without it, and URIs for another role", async () => {
    const p = await program({ environment: "test", port: "55433" });
    const hidden = await stackOutputs(p, false);
    expect(() => envVars(hidden, { showSecrets: true })).toThrow(
      'connectionUris is "[secret]": read the stack outputs with --show-secrets',
    );
    const shown = await stackOutputs(p, true);
    const swapped = { ...shown, roles: { ...shown.roles, gdpr: "gdpr_app" } };
    expect(() => envVars(swapped, { showSecrets: true })).toThrow(
      'connectionUris.gdpr is for role "gdpr_test_app_a", but roles.gdpr is "gdpr_app"',
    );
  });

  it("only prints the services the stack has", async () => {
    const p = await program({ environment: "dev", services: '["openfga"]', managedSchemaServices: "[]" });
    expect(envVars(await stackOutputs(p, false)).map(([k]) => k)).toEqual([
      "OPENFGA_DATASTORE_ENGINE",
      "OPENFGA_DATASTORE_URI",
    ]);
  });

  it("quotes values so that a shell reads them back unchanged", () => {
    const vars: [string, string][] = [
      ["A", "postgres"],
      ["B", "postgres://u:p%40@h:5432/d?sslmode=require&x=1"],
      ["C", 'it\'s $HOME `x` "q" & ; | *'],
    ];
    const dir = mkdtempSync(join(tmpdir(), "env-"));
    try {
      const file = join(dir, "env");
      writeFileSync(file, vars.map(formatEnvLine).join("\n") + "\n");
      const res = spawnSync("bash", ["-c", `set -a; . "${file}"; printf '%s\\0' "$A" "$B" "$C"`], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, HOME: "/nonexistent" },
      });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout.split("\0").slice(0, 3)).toEqual(vars.map(([, v]) => v));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(formatEnvLine(["A", "postgres"])).toBe("A=postgres");
  });
});

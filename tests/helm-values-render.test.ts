/**
 * The Helm values renderer (components/cluster/helm-values.ts) per target
 * (local, Cloud SQL, RDS) and its refusals, OpenFGA's pool size within the
 * role's connection limit, and the Secrets' URLs going where the values say.
 * The values file and `make env` on the program's outputs:
 * helm-values-output.test.ts and make-env.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  clusterEndpoints,
  CONNECTION_HEADROOM,
  HelmValuesInput,
  openfgaMaxOpenConns,
  renderHelmValues,
} from "../components/cluster/helm-values";
import { OPENFGA_MIGRATE_CONNECTIONS } from "../components/config/openfga-connections";
import { secretStringData } from "../components/cluster/database-secrets";
import { helmInput } from "./helpers/helm-input";

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

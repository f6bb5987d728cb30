/**
 * DatabaseSecrets: one Kubernetes Secret per service with exactly the keys its
 * consumer reads, built from the Pulumi secrets; created only when the stack
 * configures a cluster. Then the Secrets' URLs against a real server, with a
 * password holding @:/?#%.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENERIC_SECRET_KEYS, secretStringData } from "../components/cluster/database-secrets";
import { ConfigError, parseStackConfig } from "../components/config/stack-config";
import { SECRET_KEYS } from "../components/naming";
import { envVars } from "../scripts/env";
import { isSecret, ofType, parents, recorded, settle, unwrap } from "./helpers/mocks";
import { startTestServer, TestServer } from "./helpers/pg-server";
import { program } from "./helpers/program-outputs";

const SECRET = "kubernetes:core/v1:Secret";
const K8S_PROVIDER = "pulumi:providers:kubernetes";

/** The services' Secrets (DatabaseSecrets'; the retention job has its own, see retention-job.test.ts). */
function secretNames(): string[] {
  return ofType(SECRET)
    .filter((s) => /platform-databases:index:DatabaseSecrets::/.test(parents.get(s.name) ?? ""))
    .map((s) => (s.inputs.metadata as { name: string }).name)
    .sort();
}

describe("secretStringData", () => {
  const c = {
    user: "openfga_app",
    password: "p@ss:w/o?r#d%",
    host: "10.0.0.5",
    port: 5432,
    database: "openfga",
    sslmode: "require",
  };

  it("gives each consumer exactly the keys it reads", () => {
    expect(Object.keys(secretStringData("gdpr", { ...c, user: "gdpr_app", database: "gdpr" }))).toEqual([
      "postgres-password",
      "GDPR_POSTGRES_URL",
    ]);
    expect(Object.keys(secretStringData("openfga", c))).toEqual(["uri"]);
    expect(secretStringData("keycloak", { ...c, user: "keycloak_app", database: "keycloak" })).toEqual({
      "db-user": "keycloak_app",
      "db-password": "p@ss:w/o?r#d%",
    });
  });

  it("URL-encodes @:/?#% in the URIs and keeps the raw password where no URL carries it", () => {
    const gdpr = secretStringData("gdpr", { ...c, user: "gdpr_app", database: "gdpr" });
    expect(gdpr["postgres-password"]).toBe("p@ss:w/o?r#d%");
    expect(gdpr.GDPR_POSTGRES_URL).toBe(
      "postgresql://gdpr_app:p%40ss%3Aw%2Fo%3Fr%23d%25@10.0.0.5:5432/gdpr?sslmode=require",
    );
    const uri = new URL(secretStringData("openfga", c).uri);
    expect([
      uri.protocol,
      uri.username,
      decodeURIComponent(uri.password),
      uri.hostname,
      uri.port,
      uri.pathname,
    ]).toEqual(["postgres:", "openfga_app", "p@ss:w/o?r#d%", "10.0.0.5", "5432", "/openfga"]);
  });
});

describe("DatabaseSecrets in the program", () => {
  it("with a cluster configured: one Secret per service, the values' names, exactly the consumer's keys", async () => {
    const p = await program({
      environment: "test",
      port: "55433",
      kubernetes: "true",
      namespace: "platform",
      kubeContext: "kind-platform",
      clusterHost: "host.docker.internal",
    });
    const values = await unwrap(p.helmValues);
    const uris = await unwrap(p.connectionUris);

    const providers = ofType(K8S_PROVIDER);
    expect(providers).toHaveLength(1);
    expect(providers[0].inputs).toMatchObject({ context: "kind-platform", namespace: "platform" });

    // Registered in the order their inputs resolve: look them up by name.
    const byName = (n: string | undefined) =>
      ofType(SECRET).filter((s) => (s.inputs.metadata as { name: string }).name === n);
    expect(secretNames()).toEqual(["gdpr-test-database", "keycloak-test-database", "openfga-test-database"]);
    const secrets = [
      values.postgresql?.external.existingSecret,
      values.openfga?.datastore.uriSecret,
      values.keycloak?.externalDatabase.existingSecret,
    ].flatMap(byName);
    expect(secrets).toHaveLength(3);
    for (const s of secrets) {
      expect((s.inputs.metadata as { namespace: string }).namespace).toBe("platform");
      expect(s.inputs.type).toBe("Opaque");
      expect(parents.get(s.name)).toMatch(
        /platform-databases:index:DatabaseSecrets::platform-cluster-secrets$/,
      );
    }
    // Registered as a secret: the engine receives the data wrapped in Pulumi's secret signature.
    const data = secrets.map((s) => {
      const wrapped = s.inputs.stringData as Record<string, unknown>;
      expect(wrapped[pulumi.runtime.specialSigKey]).toBe(pulumi.runtime.specialSecretSig);
      return wrapped.value as Record<string, string>;
    });
    // Exactly the keys the values point the consumers at (and the application's URL variable).
    expect(data.map((d) => Object.keys(d).sort())).toEqual([
      [values.postgresql?.external.existingSecretPasswordKey, SECRET_KEYS.gdpr.url].sort(),
      [SECRET_KEYS.openfga.uri],
      [
        values.keycloak?.externalDatabase.existingSecretUserKey,
        values.keycloak?.externalDatabase.existingSecretPasswordKey,
      ].sort(),
    ]);
    // The passwords are the login roles' (the ones in connectionUris), at the cluster's host.
    const gdprPassword = decodeURIComponent(new URL(uris.gdpr).password);
    expect(data[0]["postgres-password"]).toBe(gdprPassword);
    expect(data[0].GDPR_POSTGRES_URL).toBe(uris.gdpr.replace("@127.0.0.1:", "@host.docker.internal:"));
    expect(data[1].uri).toBe(
      uris.openfga.replace(/^postgresql:/, "postgres:").replace("@127.0.0.1:", "@host.docker.internal:"),
    );
    // The mock passwords end in @:/?#%: URL-encoded in the URIs.
    expect(data[1].uri).toMatch(
      /^postgres:\/\/openfga_test_app_a:[^@]+%40%3A%2F%3F%23%25@host\.docker\.internal:55433\/openfga_test\?sslmode=disable$/,
    );
    expect(data[2]).toEqual({
      "db-user": "keycloak_test_app_a",
      "db-password": decodeURIComponent(new URL(uris.keycloak).password),
    });
    expect(values.keycloak?.externalDatabase.host).toBe("host.docker.internal");
  });

  it("marks the Secrets' data secret", async () => {
    await program({ environment: "dev" });
    const { DatabaseSecrets } = await import("../components/cluster/database-secrets");
    const component = new DatabaseSecrets("secrets", {
      namespace: "apps",
      services: [
        {
          service: "openfga",
          secretName: "openfga-database",
          database: "openfga",
          user: "openfga_app",
          password: pulumi.secret("p@ss:w/o?r#d%"),
          endpoint: { host: "db", port: 5432, sslmode: "require" },
        },
      ],
    });
    const secret = component.secrets.openfga;
    expect(await isSecret(secret.stringData)).toBe(true);
    expect(await unwrap(secret.stringData)).toEqual({
      uri: "postgres://openfga_app:p%40ss%3Aw%2Fo%3Fr%23d%25@db:5432/openfga?sslmode=require",
    });
    expect(await unwrap(component.secretNames)).toEqual({ openfga: "openfga-database" });
  });

  it("without a cluster: no Secret and no kubernetes provider", async () => {
    await program({ environment: "test", port: "55433" });
    expect(ofType("postgresql:index/database:Database")).toHaveLength(3);
    expect(ofType(SECRET)).toEqual([]);
    expect(ofType(K8S_PROVIDER)).toEqual([]);
  });

  it("gives a service the chart does not consume a Secret with the conventional keys, and a values entry", async () => {
    const p = await program({
      environment: "dev",
      services: '["gdpr","openfga","keycloak","billing"]',
      managedSchemaServices: '["gdpr"]',
      kubernetes: "true",
      namespace: "apps",
    });
    expect(ofType("postgresql:index/database:Database")).toHaveLength(4);
    expect(secretNames()).toEqual([
      "billing-database",
      "gdpr-database",
      "keycloak-database",
      "openfga-database",
    ]);
    const billing = ofType(SECRET).find(
      (s) => (s.inputs.metadata as { name: string }).name === "billing-database",
    );
    const data = (billing?.inputs.stringData as { value: Record<string, string> }).value;
    expect(Object.keys(data).sort()).toEqual([...GENERIC_SECRET_KEYS].sort());
    const uris = await unwrap(p.connectionUris);
    expect(data).toMatchObject({
      host: "127.0.0.1",
      port: "5432",
      database: "billing",
      username: "billing_app_a",
      password: decodeURIComponent(new URL(uris.billing).password),
      uri: uris.billing,
    });
    expect(data["jdbc-uri"]).toMatch(
      /^jdbc:postgresql:\/\/127\.0\.0\.1:5432\/billing\?user=billing_app_a&password=[^&]+%40%3A%2F%3F%23%25$/,
    );
    const values = await unwrap(p.helmValues);
    expect(values.platformDatabases).toEqual({
      billing: {
        host: "127.0.0.1",
        port: 5432,
        database: "billing",
        username: "billing_app",
        sslMode: "disable",
        existingSecret: "billing-database",
      },
    });
  });

  it("refuses a bad namespace and a Secret name used twice, by name", async () => {
    await program({ environment: "dev" });
    const { DatabaseSecrets } = await import("../components/cluster/database-secrets");
    const svc = {
      service: "billing",
      secretName: "billing-database",
      database: "billing",
      user: "billing_app",
      password: "x",
      endpoint: { host: "db", port: 5432, sslmode: "require" },
    };
    expect(() => new DatabaseSecrets("a", { namespace: "apps", services: [svc, svc] })).toThrow(
      'DatabaseSecrets a: Secret name "billing-database" is used twice',
    );
    expect(() => new DatabaseSecrets("b", { namespace: "Apps", services: [] })).toThrow(
      'DatabaseSecrets b: namespace "Apps" is not a Kubernetes namespace name',
    );
  });
});

describe("cluster config", () => {
  function problems(raw: Record<string, string>): string[] {
    try {
      parseStackConfig({ environment: "dev", ...raw });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
    return [];
  }

  it("is off by default", () => {
    const cfg = parseStackConfig({ environment: "test" });
    expect([cfg.kubernetes, cfg.namespace, cfg.kubeContext, cfg.clusterHost]).toEqual([
      false,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it.each<[Record<string, string>, string]>([
    [{ kubernetes: "true" }, "namespace: is required when kubernetes is true"],
    [{ namespace: "apps" }, 'namespace: "apps" is set but kubernetes is false'],
    [{ kubeContext: "kind-x" }, 'kubeContext: "kind-x" is set but kubernetes is false'],
    [{ kubernetes: "true", namespace: "Apps" }, 'namespace: "Apps" is not a Kubernetes namespace name'],
    [{ kubernetes: "maybe" }, 'kubernetes: "maybe" is not true or false'],
    [{ clusterHost: "a b" }, 'clusterHost: "a b" is not a host name'],
    [
      { connectionLimit: "5" },
      "connectionLimit: 5 is too small for openfga's 3 replicas: 2 connections are kept for admin sessions and exiting backends and 4 pods run during a rollout, each migrating before it serves, so it must be at least 6",
    ],
  ])("refuses %j", (raw, message) => {
    expect(problems(raw).join("\n")).toContain(message);
  });

  it("accepts a small limit when no chart service (gdpr, openfga, keycloak) needs more", () => {
    expect(problems({ connectionLimit: "6", services: '["billing"]' })).toEqual([]);
    expect(problems({ connectionLimit: "6", services: '["keycloak"]' })).toEqual([]);
    // One connection per OpenFGA pod (3 replicas, 4 during a rollout) and the 2 kept back.
    expect(problems({ connectionLimit: "6", services: '["openfga"]' })).toEqual([]);
    expect(problems({ connectionLimit: "5", services: '["openfga"]' })).not.toEqual([]);
  });

  it("a config mistake registers nothing, Secrets included", async () => {
    await expect(program({ environment: "test", kubernetes: "true" })).rejects.toThrow(
      /platform-databases:namespace: is required when kubernetes is true/,
    );
    await settle();
    expect(recorded).toEqual([]);
  });
});

describe("the URLs connect to a real server as the role", () => {
  let server: TestServer;
  const password = "p@ss:w/o?r#d%'&x";

  beforeAll(async () => {
    server = await startTestServer();
    const c = await server.client();
    for (const s of ["gdpr", "openfga", "keycloak"]) {
      await c.query(`CREATE ROLE ${s}_test_app LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
      await c.query(`CREATE DATABASE ${s}_test OWNER ${s}_test_app`);
    }
    await c.end();
  }, 120_000);

  afterAll(() => server?.stop());

  async function whoAmI(url: string): Promise<string> {
    const { Client } = await import("pg");
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT current_user AS u, current_database() AS d");
      return `${rows[0].u}@${rows[0].d}`;
    } finally {
      await client.end();
    }
  }

  it("the Secrets' URIs (application, OpenFGA) and make env's", async () => {
    const ep = { host: server.host, port: server.port, sslmode: "disable" };
    const gdpr = secretStringData("gdpr", { user: "gdpr_test_app", password, database: "gdpr_test", ...ep });
    const fga = secretStringData("openfga", {
      user: "openfga_test_app",
      password,
      database: "openfga_test",
      ...ep,
    });
    expect(await whoAmI(gdpr.GDPR_POSTGRES_URL)).toBe("gdpr_test_app@gdpr_test");
    expect(await whoAmI(fga.uri)).toBe("openfga_test_app@openfga_test");

    const uri = (s: string) =>
      `postgresql://${s}_test_app:${encodeURIComponent(password)}@${server.host}:${server.port}/${s}_test?sslmode=disable`;
    const vars = Object.fromEntries(
      envVars(
        {
          environment: "test",
          databaseNames: { gdpr: "gdpr_test", openfga: "openfga_test", keycloak: "keycloak_test" },
          roles: { gdpr: "gdpr_test_app", openfga: "openfga_test_app", keycloak: "keycloak_test_app" },
          connection: { host: server.host, port: server.port, sslmode: "disable" },
          connectionUris: { gdpr: uri("gdpr"), openfga: uri("openfga"), keycloak: uri("keycloak") },
        },
        { showSecrets: true },
      ),
    );
    expect(await whoAmI(vars.GDPR_POSTGRES_URL)).toBe("gdpr_test_app@gdpr_test");
    expect(await whoAmI(vars.OPENFGA_DATASTORE_URI)).toBe("openfga_test_app@openfga_test");
    // Keycloak: the JDBC URL's host/port/database with the separate user and password.
    const jdbc = new URL(vars.KC_DB_URL.replace(/^jdbc:/, ""));
    const kc = `postgresql://${encodeURIComponent(vars.KC_DB_USERNAME)}:${encodeURIComponent(vars.KC_DB_PASSWORD)}@${jdbc.host}${jdbc.pathname}`;
    expect(await whoAmI(kc)).toBe("keycloak_test_app@keycloak_test");
  });
});

/**
 * IAM logins reaching the cluster (docs/iam.md), pure: the Helm values
 * (cluster-endpoints.ts, helm-values.ts, generic-values.ts), the Secrets'
 * data (secret-data.ts), the application's env patch and the post-render
 * step (application-env.ts, scripts/helm-values.ts), and `make env`
 * (scripts/env.ts). None of them may hold a password for an IAM service.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  applicationEnvPatch,
  applyApplicationEnv,
  readApplicationEnvPatch,
} from "../components/cluster/application-env";
import { clusterEndpoint, HelmValuesInput, renderHelmValues } from "../components/cluster/helm-values";
import {
  GENERIC_IAM_SECRET_KEYS,
  GENERIC_SECRET_KEYS,
  iamSecretStringData,
} from "../components/cluster/secret-data";
import { envVars, formatEnv, formatEnvLine, MASK } from "../scripts/env";
import { applicationEnvYaml, helmValuesYaml, StackOutputs } from "../scripts/helm-values";
import { helmInput } from "./helpers/helm-input";
import { appDeployment, containersOf } from "./helpers/rendered-chart";

const SERVICES = ["gdpr", "openfga", "keycloak", "billing"];
const GDPR_IAM = "gdpr-app@acme-prod.iam";
const BILLING_GCP_IAM = "billing-app@acme-prod.iam";
const CONNECTION_NAME = "acme-prod:europe-west1:pg";

/** Cloud SQL (prod): gdpr and billing log in with IAM. */
function gcp(
  iamUsers: Record<string, string> = { gdpr: GDPR_IAM, billing: BILLING_GCP_IAM },
): HelmValuesInput {
  return helmInput(
    "prod",
    { host: "10.20.0.3", sslmode: "require", cloudSqlInstanceConnectionName: CONNECTION_NAME },
    { services: SERVICES, iamUsers },
  );
}

/** RDS (staging): billing logs in with IAM. */
function aws(sslmode = "verify-full", iamUsers: Record<string, string> = { billing: "billing_app_iam" }) {
  return helmInput(
    "staging",
    { host: "pg.c0ffee.eu-central-1.rds.amazonaws.com", sslmode, awsRegion: "eu-central-1" },
    { services: SERVICES, iamUsers },
  );
}

describe("the Helm values of IAM logins", () => {
  it("Cloud SQL: the application's values name its IAM user and no password key; openfga and keycloak keep theirs", () => {
    const values = renderHelmValues(gcp());
    expect(values.postgresql?.external).toEqual({
      host: "127.0.0.1",
      port: 5432,
      database: "gdpr",
      username: GDPR_IAM,
      existingSecret: "gdpr-database",
      sslMode: "disable",
      cloud: { cloudSql: { enabled: true, instanceConnectionName: CONNECTION_NAME } },
    });
    expect(values.postgresql?.external).not.toHaveProperty("existingSecretPasswordKey");
    expect(values.keycloak?.externalDatabase).toMatchObject({
      user: "keycloak_app",
      existingSecretPasswordKey: "db-password",
    });
    expect(values.openfga?.datastore.uriSecret).toBe("openfga-database");
    // The same stack without IAM: the password key is back, nothing else of gdpr's changes but the user.
    const password = renderHelmValues(gcp({})).postgresql?.external;
    expect(password).toEqual({
      ...values.postgresql?.external,
      username: "gdpr_app",
      existingSecretPasswordKey: "postgres-password",
    });
  });

  it("Cloud SQL: another service's entry names its IAM user and its own Auth Proxy with --auto-iam-authn", () => {
    const entry = renderHelmValues(gcp()).platformDatabases?.billing;
    expect(JSON.stringify(entry)).toBe(
      JSON.stringify({
        host: "127.0.0.1",
        port: 5432,
        database: "billing",
        username: BILLING_GCP_IAM,
        sslMode: "disable",
        existingSecret: "billing-database",
        cloudSqlProxy: { instanceConnectionName: CONNECTION_NAME, autoIamAuthn: true },
      }),
    );
    // Without IAM it connects to the instance directly, over TLS, as before.
    expect(renderHelmValues(gcp({ gdpr: GDPR_IAM })).platformDatabases?.billing).toEqual({
      host: "10.20.0.3",
      port: 5432,
      database: "billing",
      username: "billing_app",
      sslMode: "require",
      existingSecret: "billing-database",
    });
  });

  it("RDS: another service's entry names its IAM user, the region its tokens are for, and the stack's TLS", () => {
    expect(JSON.stringify(renderHelmValues(aws()).platformDatabases?.billing)).toBe(
      JSON.stringify({
        host: "pg.c0ffee.eu-central-1.rds.amazonaws.com",
        port: 5432,
        database: "billing",
        username: "billing_app_iam",
        sslMode: "verify-full",
        existingSecret: "billing-database",
        rdsIam: { region: "eu-central-1" },
      }),
    );
    expect(renderHelmValues(aws("require")).platformDatabases?.billing?.sslMode).toBe("require");
    // The region alone changes nothing for a password login.
    expect(renderHelmValues(aws("require", {})).platformDatabases?.billing).not.toHaveProperty("rdsIam");
  });

  it.each<[string, HelmValuesInput, string]>([
    [
      "openfga on Cloud SQL",
      gcp({ openfga: "openfga-app@acme-prod.iam" }),
      'services.openfga.iamUser "openfga-app@acme-prod.iam": openfga cannot log in with IAM on gcp: the openfga ' +
        "subchart connects to the instance directly, without a Cloud SQL Auth Proxy, and OpenFGA cannot " +
        "produce Cloud SQL IAM tokens itself (openfga/openfga issue 870)",
    ],
    [
      "gdpr on RDS",
      aws("require", { gdpr: "gdpr_app_iam" }),
      'services.gdpr.iamUser "gdpr_app_iam": gdpr cannot log in with IAM on aws: the application cannot mint ' +
        "RDS IAM tokens (it needs a password in GDPR_POSTGRES_URL) and its chart runs no proxy that would",
    ],
    [
      "keycloak on RDS",
      aws("require", { keycloak: "keycloak_app_iam" }),
      'services.keycloak.iamUser "keycloak_app_iam": keycloak cannot log in with IAM on aws',
    ],
    [
      "an IAM login without a cloud",
      helmInput("test", {}, { services: SERVICES, iamUsers: { billing: "billing_test_app_iam" } }),
      'services.billing.iamUser "billing_test_app_iam": an IAM login needs a Cloud SQL instance ' +
        "(cloudSqlInstanceConnectionName) or an RDS region (awsRegion)",
    ],
    [
      "an RDS IAM login without TLS",
      aws("disable"),
      'sslmode "disable" is refused with an RDS IAM login (services.billing.iamUser): RDS accepts IAM tokens over TLS only',
    ],
    [
      "a user name with a quote",
      gcp({ billing: 'billing"app' }),
      'services.billing.iamUser "billing\\"app" is not a database user name',
    ],
    [
      "a region that is not one",
      helmInput("staging", { sslmode: "require", awsRegion: "Frankfurt" }, { services: SERVICES }),
      'awsRegion "Frankfurt" is not an AWS region',
    ],
  ])("refuses %s, naming the key, the value and the rule", (_what, input, message) => {
    expect(() => renderHelmValues(input)).toThrow(message);
  });
});

describe("the Secrets of IAM logins", () => {
  it("gdpr: its IAM user and a URL to the proxy sidecar without a password, and no password key", () => {
    const data = iamSecretStringData("gdpr", {
      user: GDPR_IAM,
      database: "gdpr",
      ...clusterEndpoint(gcp(), "gdpr"),
    });
    expect(data).toEqual({
      "postgres-username": GDPR_IAM,
      GDPR_POSTGRES_URL: "postgresql://gdpr-app%40acme-prod.iam@127.0.0.1:5432/gdpr?sslmode=disable",
    });
    expect(new URL(data.GDPR_POSTGRES_URL).password).toBe("");
    expect(decodeURIComponent(new URL(data.GDPR_POSTGRES_URL).username)).toBe(GDPR_IAM);
  });

  it("another service: the conventional keys but password, every URI without one", () => {
    const data = iamSecretStringData("billing", {
      user: "billing_app_iam",
      database: "billing",
      ...clusterEndpoint(aws(), "billing"),
    });
    expect(Object.keys(data)).toEqual([...GENERIC_IAM_SECRET_KEYS]);
    expect(GENERIC_IAM_SECRET_KEYS).toEqual(GENERIC_SECRET_KEYS.filter((k) => k !== "password"));
    expect(data).toEqual({
      host: "pg.c0ffee.eu-central-1.rds.amazonaws.com",
      port: "5432",
      database: "billing",
      username: "billing_app_iam",
      uri: "postgresql://billing_app_iam@pg.c0ffee.eu-central-1.rds.amazonaws.com:5432/billing?sslmode=verify-full",
      "jdbc-uri":
        "jdbc:postgresql://pg.c0ffee.eu-central-1.rds.amazonaws.com:5432/billing?sslmode=verify-full&user=billing_app_iam",
    });
    // On Cloud SQL its URI goes to its own proxy, like the values say.
    const viaProxy = iamSecretStringData("billing", {
      user: BILLING_GCP_IAM,
      database: "billing",
      ...clusterEndpoint(gcp(), "billing"),
    });
    expect(viaProxy.uri).toBe(
      "postgresql://billing-app%40acme-prod.iam@127.0.0.1:5432/billing?sslmode=disable",
    );
  });

  it("refuses openfga and keycloak, which have no IAM login", () => {
    const where = { user: "x", database: "openfga", host: "h", port: 5432, sslmode: "require" };
    expect(() => iamSecretStringData("openfga", where)).toThrow(
      "openfga has no IAM login: its Secret needs a password",
    );
    expect(() => iamSecretStringData("keycloak", where)).toThrow("keycloak has no IAM login");
  });
});

/** Outputs as `pulumi stack output --json` prints them for the Cloud SQL stack. */
function outputs(input: HelmValuesInput, extra: Partial<StackOutputs> = {}): StackOutputs {
  return {
    environment: input.environment,
    databaseNames: { gdpr: "gdpr", openfga: "openfga", keycloak: "keycloak", billing: "billing" },
    roles: {
      gdpr: "gdpr_app_a",
      openfga: "openfga_app_a",
      keycloak: "keycloak_app_a",
      billing: "billing_app_a",
    },
    connection: { host: "10.20.0.3", port: 5432, sslmode: "require" },
    connectionUris: "[secret]",
    helmValues: renderHelmValues(input),
    iamUsers: { gdpr: GDPR_IAM, billing: BILLING_GCP_IAM },
    ...extra,
  };
}

/** The chart's Deployment, its proxy sidecar connecting to the instance. */
const DEPLOYMENT = appDeployment({ proxyArgs: ["--port=5432", CONNECTION_NAME] });

function proxyArgs(text: string): string[] | undefined {
  return containersOf(text).find((c) => c.name === "cloud-sql-proxy")!.args;
}

describe("the post-render step with gdpr's IAM login", () => {
  const values = renderHelmValues(gcp());
  const patch = applicationEnvPatch(values, { iamUser: GDPR_IAM });

  it("patches the proxy sidecar with --auto-iam-authn beside the application's env", () => {
    expect(patch.spec.template.spec.containers).toEqual([
      {
        name: "mcp-server-langgraph",
        env: [
          { name: "GDPR_STORAGE_BACKEND", value: "postgres" },
          {
            name: "GDPR_POSTGRES_URL",
            valueFrom: { secretKeyRef: { name: "gdpr-database", key: "GDPR_POSTGRES_URL" } },
          },
        ],
      },
      { name: "cloud-sql-proxy", args: ["--auto-iam-authn"] },
    ]);
    // A password login patches the application's container only.
    expect(applicationEnvPatch(renderHelmValues(gcp({}))).spec.template.spec.containers).toHaveLength(1);
  });

  it("adds the flag before the instance's connection name, once", () => {
    const out = applyApplicationEnv(`---\n${DEPLOYMENT}`, patch);
    expect(proxyArgs(out)).toEqual(["--port=5432", "--auto-iam-authn", CONNECTION_NAME]);
    expect(applyApplicationEnv(out, patch)).toBe(out);
  });

  it("fails the render, naming the sidecar, when the Deployment has no proxy to patch", () => {
    const noProxy = DEPLOYMENT.slice(0, DEPLOYMENT.indexOf("        - name: cloud-sql-proxy"));
    expect(() => applyApplicationEnv(`---\n${noProxy}`, patch)).toThrow(
      'Deployment "mcp-mcp-server-langgraph" has no container named "cloud-sql-proxy" beside ' +
        '"mcp-server-langgraph" to add --auto-iam-authn to: gdpr logs in with IAM through the Cloud SQL ' +
        "Auth Proxy (is postgresql.external.cloud.cloudSql.enabled set? has the chart changed?)",
    );
  });

  it("refuses a patch whose values and IAM login disagree", () => {
    const noProxy = {
      ...values,
      postgresql: { ...values.postgresql!, external: { ...values.postgresql!.external } },
    };
    delete noProxy.postgresql.external.cloud;
    expect(() => applicationEnvPatch(noProxy, { iamUser: GDPR_IAM })).toThrow(
      `gdpr logs in with IAM as "${GDPR_IAM}", but the values give the application no Cloud SQL Auth Proxy ` +
        "sidecar (postgresql.external.cloud.cloudSql) to add --auto-iam-authn to",
    );
    expect(() => applicationEnvPatch(values, { iamUser: "other@acme-prod.iam" })).toThrow(
      `but the values' postgresql.external.username is "${GDPR_IAM}"`,
    );
    expect(() => applicationEnvPatch(values)).toThrow(
      `the values give gdpr no password key (an IAM login as "${GDPR_IAM}") but no IAM user was given ` +
        "(stack output iamUsers.gdpr): the proxy would not get --auto-iam-authn",
    );
  });

  it("is the file make helm-values writes from the iamUsers output, and reads back as written", () => {
    const text = applicationEnvYaml("prod", outputs(gcp()));
    expect(text).toContain(
      "gdpr logs in with IAM as gdpr-app@acme-prod.iam: the cloud-sql-proxy sidecar gets --auto-iam-authn.",
    );
    expect(readApplicationEnvPatch(parse(text))).toEqual(patch);
    expect(() => applicationEnvYaml("prod", outputs(gcp(), { iamUsers: { gdpr: 7 } as never }))).toThrow(
      'stack "prod": output iamUsers.gdpr is not a database user name',
    );
  });

  it.each<[string, unknown, string]>([
    [
      "a second container that is not the proxy",
      { name: "sidecar", args: ["--auto-iam-authn"] },
      'f: the second container must be cloud-sql-proxy, not "sidecar"',
    ],
    [
      "proxy args that are not flags",
      { name: "cloud-sql-proxy", args: ["other:region:instance"] },
      "f: container cloud-sql-proxy: args must be a list of --flags",
    ],
  ])("a patch file with %s is refused", (_what, sidecar, message) => {
    const raw = structuredClone(patch) as unknown as {
      spec: { template: { spec: { containers: unknown[] } } };
    };
    raw.spec.template.spec.containers[1] = sidecar;
    expect(() => readApplicationEnvPatch(raw, "f")).toThrow(message);
  });
});

describe("no password in an IAM service's values, values file or make env", () => {
  it("the values file names the IAM users and holds no password key for them", () => {
    const text = helmValuesYaml("prod", outputs(gcp()));
    const values = parse(text);
    expect(values.postgresql.external.username).toBe(GDPR_IAM);
    expect(text).not.toContain("postgres-password");
    expect(values.platformDatabases.billing.username).toBe(BILLING_GCP_IAM);
    expect(JSON.stringify([values.postgresql, values.platformDatabases])).not.toMatch(/password/i);
    // Keycloak still logs in with its password, named by key (never the password itself).
    expect(values.keycloak.externalDatabase.existingSecretPasswordKey).toBe("db-password");
  });

  it("make env gives gdpr's IAM user with no password, shown or not, and says so", () => {
    const uris = {
      openfga: "postgresql://openfga_app_a:pw-o@10.20.0.3:5432/openfga?sslmode=require",
      keycloak: "postgresql://keycloak_app_a:pw-k@10.20.0.3:5432/keycloak?sslmode=require",
    };
    for (const showSecrets of [false, true]) {
      const vars = new Map(envVars(outputs(gcp(), { connectionUris: uris }), { showSecrets }));
      expect(vars.get("GDPR_POSTGRES_URL")).toBe(
        "postgresql://gdpr-app%40acme-prod.iam@10.20.0.3:5432/gdpr?sslmode=require",
      );
      expect(vars.get("KC_DB_PASSWORD")).toBe(showSecrets ? "pw-k" : MASK);
    }
    const text = formatEnv("prod", outputs(gcp()));
    expect(text).toContain(
      "# gdpr logs in with IAM as gdpr-app@acme-prod.iam: no password; give a token or use the Cloud SQL Auth Proxy (docs/iam.md).",
    );
    // billing has no variables in make env, so no line either.
    expect(text).not.toContain("billing");
    // Without an IAM login gdpr's line carries its (masked) password as before.
    const password = formatEnv("prod", outputs(gcp({}), { iamUsers: {} }));
    expect(password.split("\n")).toContain(
      formatEnvLine([
        "GDPR_POSTGRES_URL",
        `postgresql://gdpr_app_a:${MASK}@10.20.0.3:5432/gdpr?sslmode=require`,
      ]),
    );
  });
});

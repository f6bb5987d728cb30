/**
 * IAM logins (config `iamLogins`, docs/iam.md): the key's validation, and the
 * whole program under mocks on the staging stack file for both clouds: Cloud
 * SQL's IAM service-account user granted the service role; RDS's passwordless
 * rds_iam role and the rds-db:connect policy on the configured IAM role; the
 * `iamUsers` output.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../components/config/stack-config";
import { iamRoleName, rdsDbUserArn } from "../components/database/iam-login";
import { MOCK_RDS_RESOURCE_ID, cloudMocks, plain, stackFileConfig } from "./helpers/cloud-mocks";
import { isSecret, unwrap } from "./helpers/mocks";
import { Run, resource, runProgram } from "./helpers/run-program";

const SA = "gdpr-app@platform-db-staging.iam.gserviceaccount.com";
const ROLE_ARN = "arn:aws:iam::210987654321:role/workloads/gdpr-app";
const PROVIDER = "pulumi:providers:postgresql";

function config(target: string, iamLogins: string[], extra: Record<string, string> = {}) {
  return stackFileConfig("staging", { target, iamLogins: JSON.stringify(iamLogins), ...extra });
}

/** The ConfigError's problems for a config, or a failure when it parses. */
function problems(raw: Record<string, string>): string[] {
  try {
    parseStackConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("the config parsed");
}

/** The staging stack's three services and a fourth, billing, that the chart does not deploy (room for its connections). */
const WITH_BILLING = {
  services: JSON.stringify(["gdpr", "openfga", "keycloak", "billing"]),
  maxConnections: "200",
};

describe("config iamLogins", () => {
  it("gives a gcp service its service account and Cloud SQL's user name for it", () => {
    const gdpr = parseStackConfig(config("gcp", [`gdpr=${SA}`])).services.find((s) => s.name === "gdpr")!;
    expect(gdpr.iamLogin).toEqual({ principal: SA, user: "gdpr-app@platform-db-staging.iam" });
    const others = parseStackConfig(config("gcp", [`gdpr=${SA}`])).services.filter((s) => s.name !== "gdpr");
    expect(others.map((s) => s.iamLogin)).toEqual([undefined, undefined]);
  });

  it("gives an aws service its IAM role and the {service role}_iam user", () => {
    const billing = parseStackConfig(config("aws", [`billing=${ROLE_ARN}`], WITH_BILLING)).services.find(
      (s) => s.name === "billing",
    )!;
    expect(billing.iamLogin).toEqual({ principal: ROLE_ARN, user: "billing_app_iam" });
  });

  it("is refused for target local, naming the key and the rule", () => {
    const raw = stackFileConfig("dev", { iamLogins: JSON.stringify([`gdpr=${SA}`]) });
    expect(problems(raw)).toEqual([
      'iamLogins: is set but target is "local": IAM logins are for targets gcp (Cloud SQL) and aws (RDS) only',
    ]);
  });

  it("refuses, naming service, target and reason, a service whose consumer cannot log in with IAM", () => {
    expect(
      problems(
        config("gcp", [
          "openfga=openfga-app@platform-db-staging.iam.gserviceaccount.com",
          "keycloak=keycloak-app@platform-db-staging.iam.gserviceaccount.com",
        ]),
      ),
    ).toEqual([
      'iamLogins[0]: "openfga" cannot log in with IAM on target gcp: the openfga subchart connects to the ' +
        "instance directly, without a Cloud SQL Auth Proxy, and OpenFGA cannot produce Cloud SQL IAM tokens " +
        "itself (openfga/openfga issue 870)",
      'iamLogins[1]: "keycloak" cannot log in with IAM on target gcp: the keycloak subchart connects to the ' +
        "instance directly, without a Cloud SQL Auth Proxy, and Keycloak's image lacks the Cloud SQL JDBC " +
        "socket factory that would log in with IAM",
    ]);
    expect(
      problems(config("aws", [`gdpr=${ROLE_ARN}`, `openfga=${ROLE_ARN}`, `keycloak=${ROLE_ARN}`])),
    ).toEqual([
      'iamLogins[0]: "gdpr" cannot log in with IAM on target aws: the application cannot mint RDS IAM ' +
        "tokens (it needs a password in GDPR_POSTGRES_URL) and its chart runs no proxy that would",
      'iamLogins[1]: "openfga" cannot log in with IAM on target aws: OpenFGA cannot mint RDS IAM tokens ' +
        "(no RDS IAM authentication: openfga/openfga issue 870) and its subchart runs no proxy that would",
      'iamLogins[2]: "keycloak" cannot log in with IAM on target aws: Keycloak\'s image lacks the AWS JDBC ' +
        "wrapper that would mint RDS IAM tokens, and its subchart runs no proxy that would",
    ]);
  });

  it("accepts gdpr on gcp and a service the chart does not deploy on both clouds", () => {
    const gcp = parseStackConfig(
      config(
        "gcp",
        [`gdpr=${SA}`, "billing=billing-app@platform-db-staging.iam.gserviceaccount.com"],
        WITH_BILLING,
      ),
    );
    expect(gcp.services.filter((s) => s.iamLogin).map((s) => [s.name, s.iamLogin?.user])).toEqual([
      ["gdpr", "gdpr-app@platform-db-staging.iam"],
      ["billing", "billing-app@platform-db-staging.iam"],
    ]);
    const aws = parseStackConfig(config("aws", [`billing=${ROLE_ARN}`], WITH_BILLING));
    expect(aws.services.filter((s) => s.iamLogin).map((s) => s.name)).toEqual(["billing"]);
  });

  it("refuses a principal of the wrong kind for the target, an unknown service, a repeat and a malformed entry", () => {
    expect(problems(config("gcp", [`gdpr=${ROLE_ARN}`]))).toEqual([
      `iamLogins[0]: ${JSON.stringify(ROLE_ARN)} is not a service-account email (name@project.iam.gserviceaccount.com) (target gcp)`,
    ]);
    const long = `${"a".repeat(30)}@${"p".repeat(30)}.iam.gserviceaccount.com`;
    expect(problems(config("gcp", [`gdpr=${long}`]))).toEqual([
      `iamLogins[0]: "${long}": Cloud SQL's user name for it, "${"a".repeat(30)}@${"p".repeat(30)}.iam", ` +
        "is longer than PostgreSQL's 63-byte names",
    ]);
    expect(problems(config("gcp", ["gdpr=gdpr-app@gmail.com"]))[0]).toMatch(
      /^iamLogins\[0\]: .* is not a service-account email/,
    );
    const aws = (entries: string[]) => problems(config("aws", entries, WITH_BILLING));
    expect(aws([`billing=${SA}`])).toEqual([
      `iamLogins[0]: ${JSON.stringify(SA)} is not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>) (target aws)`,
    ]);
    expect(aws(["billing=arn:aws:iam::12345:role/x"])[0]).toMatch(/is not an IAM role ARN/);
    expect(aws(["billing=arn:aws:iam::123456789012:user/x"])[0]).toMatch(/is not an IAM role ARN/);
    expect(aws([`ledger=${ROLE_ARN}`, `billing=${ROLE_ARN}`, `billing=${ROLE_ARN}`, "billing"])).toEqual([
      'iamLogins[0]: "ledger" is not one of the configured services (gdpr, openfga, keycloak, billing)',
      'iamLogins[2]: "billing" is listed twice',
      'iamLogins[3]: "billing" is not service=<principal> (e.g. gdpr=arn:aws:iam::123456789012:role/gdpr-app)',
    ]);
  });
});

describe("the helpers", () => {
  it("builds rds-db:connect's resource from the instance ARN and resource id", () => {
    expect(rdsDbUserArn("arn:aws:rds:eu-central-1:123456789012:db:x", "db-ABC", "gdpr_app_iam")).toBe(
      "arn:aws:rds-db:eu-central-1:123456789012:dbuser:db-ABC/gdpr_app_iam",
    );
    expect(iamRoleName(ROLE_ARN)).toBe("gdpr-app");
  });
});

describe("IAM logins under mocks", () => {
  let gcp: Run;
  let aws: Run;
  beforeAll(async () => {
    gcp = await runProgram(config("gcp", [`gdpr=${SA}`]), "staging", cloudMocks());
    aws = await runProgram(config("aws", [`billing=${ROLE_ARN}`], WITH_BILLING), "staging", cloudMocks());
  }, 120_000);

  it("Cloud SQL: an IAM service-account user on the instance, granted gdpr's service role once it exists", async () => {
    const users = gcp.resources.filter(
      (r) => r.type === "gcp:sql/user:User" && r.inputs.type === "CLOUD_IAM_SERVICE_ACCOUNT",
    );
    expect(users.map((u) => u.name)).toEqual(["platform-gdpr-iam-user"]);
    const instance = resource(gcp, "gcp:sql/databaseInstance:DatabaseInstance");
    expect(plain(users[0].inputs)).toEqual({
      project: "platform-db-staging",
      instance: instance.inputs.name,
      name: "gdpr-app@platform-db-staging.iam",
      type: "CLOUD_IAM_SERVICE_ACCOUNT",
    });
    expect(users[0].inputs).not.toHaveProperty("password");
    const grant = resource(gcp, "postgresql:index/grantRole:GrantRole", "platform-gdpr-iam-grant");
    expect(plain(grant.inputs)).toMatchObject({
      role: "gdpr-app@platform-db-staging.iam",
      grantRole: "gdpr_app",
      withAdminOption: false,
    });
    expect(gcp.dependsOn.get("platform-gdpr-iam-grant")).toEqual(
      expect.arrayContaining(["platform-gdpr-iam-user", "platform-gdpr-role"]),
    );
    expect(grant.provider).toContain(`${PROVIDER}::${resource(gcp, PROVIDER).name}`);
    expect(gcp.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    expect(await unwrap(gcp.program.iamUsers)).toEqual({ gdpr: "gdpr-app@platform-db-staging.iam" });
    expect(await isSecret(gcp.program.iamUsers)).toBe(false);
  });

  it("RDS: a passwordless rds_iam role in billing's service role, and rds-db:connect as it on the configured role", async () => {
    const role = resource(aws, "postgresql:index/role:Role", "platform-billing-iam-role");
    expect(plain(role.inputs)).toMatchObject({
      name: "billing_app_iam",
      login: true,
      superuser: false,
      createDatabase: false,
      createRole: false,
      roles: ["rds_iam", "billing_app"],
      assumeRole: "billing_app",
    });
    expect(role.inputs).not.toHaveProperty("password");
    expect(role.provider).toContain(`${PROVIDER}::${resource(aws, PROVIDER).name}`);
    const policy = resource(aws, "aws:iam/rolePolicy:RolePolicy");
    expect(policy.name).toBe("platform-billing-iam-connect-policy");
    expect(policy.inputs.role).toBe("gdpr-app");
    expect(JSON.parse(policy.inputs.policy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: "rds-db:connect",
          Resource: `arn:aws:rds-db:eu-central-1:123456789012:dbuser:${MOCK_RDS_RESOURCE_ID}/billing_app_iam`,
        },
      ],
    });
    expect(aws.resources.filter((r) => r.type.startsWith("gcp:"))).toEqual([]);
    expect(await unwrap(aws.program.iamUsers)).toEqual({ billing: "billing_app_iam" });
    expect(await isSecret(aws.program.iamUsers)).toBe(false);
  });
});

/** A Secret's data as the program gave it (unwrapped from its secret marker), by Secret name. */
function secretData(run: Run, name: string): Record<string, string> {
  const secret = run.resources.find(
    (r) => r.type === "kubernetes:core/v1:Secret" && (r.inputs.metadata as { name: string }).name === name,
  );
  if (!secret) throw new Error(`no Secret ${name}`);
  return plain(secret.inputs.stringData) as Record<string, string>;
}

describe("IAM logins reach the cluster (under mocks, with kubernetes)", () => {
  const BILLING_SA = "billing-app@platform-db-staging.iam.gserviceaccount.com";
  const cluster = { ...WITH_BILLING, kubernetes: "true", namespace: "apps" };
  let gcp: Run;
  let aws: Run;
  beforeAll(async () => {
    gcp = await runProgram(
      config("gcp", [`gdpr=${SA}`, `billing=${BILLING_SA}`], cluster),
      "staging",
      cloudMocks(),
    );
    aws = await runProgram(config("aws", [`billing=${ROLE_ARN}`], cluster), "staging", cloudMocks());
  }, 120_000);

  /** Every login user's password of the run (from the secret output connectionUris). */
  async function passwords(run: Run): Promise<string[]> {
    const uris = await unwrap(run.program.connectionUris);
    return Object.values(uris).map((u) => decodeURIComponent(new URL(u).password));
  }

  it("Cloud SQL: gdpr's Secret holds its IAM user and a URL to the proxy without a password, and no password key", async () => {
    const gdpr = secretData(gcp, "gdpr-database");
    expect(gdpr).toEqual({
      "postgres-username": "gdpr-app@platform-db-staging.iam",
      GDPR_POSTGRES_URL:
        "postgresql://gdpr-app%40platform-db-staging.iam@127.0.0.1:5432/gdpr?sslmode=disable",
    });
    const billing = secretData(gcp, "billing-database");
    expect(Object.keys(billing).sort()).toEqual(["database", "host", "jdbc-uri", "port", "uri", "username"]);
    expect(billing.uri).toBe(
      "postgresql://billing-app%40platform-db-staging.iam@127.0.0.1:5432/billing?sslmode=disable",
    );
    // It switches to IAM once the IAM user holds the service role's privileges.
    expect(gcp.dependsOn.get("platform-cluster-secrets-gdpr")).toContain("platform-gdpr-iam-grant");
    expect(gcp.dependsOn.get("platform-cluster-secrets-billing")).toContain("platform-billing-iam-grant");
    // openfga and keycloak keep their password logins.
    expect(Object.keys(secretData(gcp, "keycloak-database")).sort()).toEqual(["db-password", "db-user"]);
    const all = [gdpr, billing].flatMap((d) => Object.values(d)).join("\n");
    for (const password of await passwords(gcp)) {
      expect(all).not.toContain(password);
      expect(all).not.toContain(encodeURIComponent(password));
    }
  });

  it("Cloud SQL: the values name the IAM users, gdpr without a password key, billing through its own proxy", async () => {
    const values = await unwrap(gcp.program.helmValues);
    expect(values.postgresql?.external).toMatchObject({
      host: "127.0.0.1",
      port: 5432,
      username: "gdpr-app@platform-db-staging.iam",
      existingSecret: "gdpr-database",
      sslMode: "disable",
    });
    expect(values.postgresql?.external).not.toHaveProperty("existingSecretPasswordKey");
    const connectionName = values.postgresql?.external.cloud?.cloudSql.instanceConnectionName;
    expect(connectionName).toMatch(/^platform-db-staging:europe-west1:/);
    expect(values.platformDatabases?.billing).toEqual({
      host: "127.0.0.1",
      port: 5432,
      database: "billing",
      username: "billing-app@platform-db-staging.iam",
      sslMode: "disable",
      existingSecret: "billing-database",
      cloudSqlProxy: { instanceConnectionName: connectionName, autoIamAuthn: true },
    });
    expect(await isSecret(gcp.program.helmValues)).toBe(false);
  });

  it("RDS: billing's Secret and values name its IAM user, no password, the region and TLS", async () => {
    const billing = secretData(aws, "billing-database");
    const host = (await unwrap(aws.program.connection.host)) as string;
    expect(billing).toEqual({
      host,
      port: "5432",
      database: "billing",
      username: "billing_app_iam",
      uri: `postgresql://billing_app_iam@${host}:5432/billing?sslmode=require`,
      "jdbc-uri": `jdbc:postgresql://${host}:5432/billing?sslmode=require&user=billing_app_iam`,
    });
    for (const password of await passwords(aws))
      expect(Object.values(billing).join()).not.toContain(password);
    expect(aws.dependsOn.get("platform-cluster-secrets-billing")).toContain("platform-billing-iam-role");
    const values = await unwrap(aws.program.helmValues);
    expect(values.platformDatabases?.billing).toEqual({
      host,
      port: 5432,
      database: "billing",
      username: "billing_app_iam",
      sslMode: "require",
      existingSecret: "billing-database",
      rdsIam: { region: "eu-central-1" },
    });
    // gdpr, which cannot log in with IAM on RDS, keeps its password Secret.
    expect(Object.keys(secretData(aws, "gdpr-database")).sort()).toEqual([
      "GDPR_POSTGRES_URL",
      "postgres-password",
    ]);
  });
});

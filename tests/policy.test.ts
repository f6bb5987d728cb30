/**
 * The policy pack: each rule with a passing and a failing resource, the
 * policies' wiring (environment, enforcement level, messages naming the
 * resource), and the pack run over the program's own mock graphs: prod passes
 * clean, and each hardened default a config key turns off is reported.
 */
import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { policies } from "../policy/policies";
import * as rules from "../policy/rules";
import type { Subject } from "../policy/rules";
import { cloudMocks, policySubjects, stackFileConfig } from "./helpers/cloud-mocks";
import { runProgram } from "./helpers/run-program";

const T = rules.TYPES;

function subject(
  type: string,
  name: string,
  props: Record<string, unknown>,
  stack = "prod",
  protect = false,
): Subject {
  return { type, name, urn: `urn:pulumi:${stack}::platform-databases::${type}::${name}`, props, protect };
}

const prodCloudSql = (overrides: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) =>
  subject(
    T.cloudSqlInstance,
    "platform-postgres-cloudsql-instance",
    {
      deletionProtection: true,
      settings: {
        availabilityType: "REGIONAL",
        deletionProtectionEnabled: true,
        retainBackupsOnDelete: true,
        ipConfiguration: {
          ipv4Enabled: false,
          privateNetwork: "projects/p-123456/global/networks/vpc",
          sslMode: "ENCRYPTED_ONLY",
          authorizedNetworks: [],
        },
        backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true },
        databaseFlags: [
          { name: "cloudsql.iam_authentication", value: "on" },
          { name: "log_connections", value: "on" },
          { name: "log_disconnections", value: "on" },
          { name: "log_lock_waits", value: "on" },
          { name: "log_min_duration_statement", value: "1000" },
        ],
        insightsConfig: { queryInsightsEnabled: true },
        passwordValidationPolicy: { enablePasswordPolicy: true },
        userLabels: { environment: "prod" },
        ...settings,
      },
      ...overrides,
    },
    "prod",
    true,
  );

const prodRds = (overrides: Record<string, unknown> = {}) =>
  subject(
    T.rdsInstance,
    "platform-postgres-rds-instance",
    {
      storageEncrypted: true,
      publiclyAccessible: false,
      multiAz: true,
      deletionProtection: true,
      skipFinalSnapshot: false,
      parameterGroupName: "pdb-prod-postgres17",
      iamDatabaseAuthenticationEnabled: true,
      performanceInsightsEnabled: true,
      autoMinorVersionUpgrade: true,
      allowMajorVersionUpgrade: false,
      enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
      tags: { environment: "prod" },
      ...overrides,
    },
    "prod",
    true,
  );

const parameterGroup = (parameters: { name: string; value: string }[]) =>
  subject(T.rdsParameterGroup, "platform-postgres-rds-params", { name: "pdb-prod-postgres17", parameters });

describe("rules: a passing and a failing case each", () => {
  it("database-naming", () => {
    const db = (name: string, stack: string) => subject(T.database, `${name}-database`, { name }, stack);
    expect(rules.databaseNaming(db("gdpr", "prod"), { environment: "prod" })).toEqual([]);
    expect(rules.databaseNaming(db("gdpr_test", "test"), { environment: "test" })).toEqual([]);
    expect(rules.databaseNaming(db("gdpr_test", "prod"), { environment: "prod" })).toEqual([
      `${T.database} "gdpr_test-database": database "gdpr_test" breaks ADR-0060 naming for environment prod: expected "gdpr"`,
    ]);
    expect(rules.databaseNaming(db("gdpr", "test"), { environment: "test" })[0]).toContain(
      'expected "gdpr_test"',
    );
    expect(rules.databaseNaming(db("Billing", "prod"), { environment: "prod" })[0]).toContain(
      'service name "Billing" is not a lowercase',
    );
    expect(rules.databaseNaming(db("gdpr", "ci"), {})[0]).toContain(
      'cannot tell the stack\'s environment (stack "ci"',
    );
  });

  it("role-naming", () => {
    const role = (name: string) => subject(T.role, `${name}-role`, { name });
    for (const ok of ["gdpr_app", "gdpr_owner", "gdpr_retention", "openfga_app", "db_monitor"]) {
      expect(rules.roleNaming(role(ok), { environment: "prod" }), ok).toEqual([]);
    }
    expect(rules.roleNaming(role("gdpr_test_app"), { environment: "test" })).toEqual([]);
    expect(rules.roleNaming(role("gdpr_test_retention"), { environment: "test" })).toEqual([]);
    expect(rules.roleNaming(role("gdpr_retention"), { environment: "test" })[0]).toContain(
      'role "gdpr_retention" breaks ADR-0060 naming for environment test',
    );
    expect(rules.roleNaming(role("gdpr_test_app"), { environment: "prod" })[0]).toContain(
      'role "gdpr_test_app" breaks ADR-0060 naming for environment prod',
    );
    expect(rules.roleNaming(role("gdpr_app"), { environment: "test" })[0]).toContain("e.g. gdpr_test_app");
    expect(rules.roleNaming(role("admin"), { environment: "staging" })[0]).toContain(
      `${T.role} "admin-role"`,
    );
  });

  it("role-least-privilege", () => {
    const role = (props: Record<string, unknown>) =>
      subject(T.role, "gdpr-login", { name: "gdpr_app", login: true, ...props });
    expect(
      rules.roleLeastPrivilege(role({ superuser: false, createDatabase: false, createRole: false }), {}),
    ).toEqual([]);
    expect(
      rules.roleLeastPrivilege(role({ superuser: true, createDatabase: true, createRole: true }), {}),
    ).toEqual([
      `${T.role} "gdpr-login": role "gdpr_app" has superuser: true; service roles get none of superuser, createDatabase, createRole, replication, bypassRowLevelSecurity`,
      `${T.role} "gdpr-login": role "gdpr_app" has createDatabase: true; service roles get none of superuser, createDatabase, createRole, replication, bypassRowLevelSecurity`,
      `${T.role} "gdpr-login": role "gdpr_app" has createRole: true; service roles get none of superuser, createDatabase, createRole, replication, bypassRowLevelSecurity`,
    ]);
  });

  it("provider-connection", () => {
    const provider = (props: Record<string, unknown>) =>
      subject(T.postgresqlProvider, "platform-postgres-provider", props);
    expect(
      rules.providerConnection(provider({ superuser: "false", sslmode: "require" }), { environment: "prod" }),
    ).toEqual([]);
    expect(
      rules.providerConnection(provider({ superuser: "false", sslmode: "disable" }), { environment: "dev" }),
    ).toEqual([]);
    expect(
      rules.providerConnection(provider({ superuser: "true", sslmode: "disable" }), { environment: "prod" }),
    ).toEqual([
      `${T.postgresqlProvider} "platform-postgres-provider": superuser must be false: the admin is CREATEDB CREATEROLE, like Cloud SQL's and RDS's`,
      `${T.postgresqlProvider} "platform-postgres-provider": sslmode "disable" in prod: connections to a managed server use TLS`,
    ]);
  });

  it("no-service-roles-in-cloud-sql-api", () => {
    const user = (name: string) => subject(T.cloudSqlUser, `u-${name}`, { name, type: "BUILT_IN" });
    expect(rules.noServiceRolesInCloudSqlApi(user("platform_admin"), {})).toEqual([]);
    expect(rules.noServiceRolesInCloudSqlApi(user("gdpr_app"), {})[0]).toContain(
      '"gdpr_app" is a service role created through the Cloud SQL API, which makes it a member of cloudsqlsuperuser',
    );
  });

  it("cloudsql-network", () => {
    expect(rules.cloudSqlNetwork(prodCloudSql(), {})).toEqual([]);
    const ip = (ipConfiguration: Record<string, unknown>) => prodCloudSql({}, { ipConfiguration });
    expect(
      rules.cloudSqlNetwork(
        ip({ ipv4Enabled: true, privateNetwork: "n", authorizedNetworks: [{ value: "203.0.113.0/24" }] }),
        {},
      ),
    ).toEqual([]);
    expect(rules.cloudSqlNetwork(ip({ ipv4Enabled: true, privateNetwork: "n" }), {})).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.ipConfiguration.ipv4Enabled gives a public IP without authorizedNetworks`,
    ]);
    // Unset means the API's default: a public IP.
    expect(rules.cloudSqlNetwork(ip({ privateNetwork: "n" }), {})).toHaveLength(1);
    expect(
      rules.cloudSqlNetwork(ip({ ipv4Enabled: true, authorizedNetworks: [{ value: "0.0.0.0/0" }] }), {}),
    ).toContain(
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": authorizedNetworks admits 0.0.0.0/0, the whole internet`,
    );
  });

  it("cloudsql-require-ssl", () => {
    expect(rules.cloudSqlRequireSsl(prodCloudSql(), {})).toEqual([]);
    const mode = (sslMode?: string) =>
      prodCloudSql({}, { ipConfiguration: { ipv4Enabled: false, privateNetwork: "n", sslMode } });
    expect(rules.cloudSqlRequireSsl(mode("TRUSTED_CLIENT_CERTIFICATE_REQUIRED"), {})).toEqual([]);
    expect(rules.cloudSqlRequireSsl(mode("ALLOW_UNENCRYPTED_AND_ENCRYPTED"), {})).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.ipConfiguration.sslMode is "ALLOW_UNENCRYPTED_AND_ENCRYPTED"; require TLS (ENCRYPTED_ONLY)`,
    ]);
    expect(rules.cloudSqlRequireSsl(mode(undefined), {})[0]).toContain("sslMode is null");
  });

  it("cloudsql-backups-pitr", () => {
    expect(rules.cloudSqlBackups(prodCloudSql(), {})).toEqual([]);
    expect(
      rules.cloudSqlBackups(
        prodCloudSql({}, { backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: false } }),
        {},
      ),
    ).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.backupConfiguration.pointInTimeRecoveryEnabled is not true (gcpPointInTimeRecovery)`,
    ]);
    expect(rules.cloudSqlBackups(prodCloudSql({}, { backupConfiguration: {} }), {})).toHaveLength(2);
  });

  it("rds-encrypted, rds-not-public", () => {
    expect(rules.rdsEncrypted(prodRds(), {})).toEqual([]);
    expect(rules.rdsEncrypted(prodRds({ storageEncrypted: false }), {})).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": storageEncrypted is not true`,
    ]);
    expect(rules.rdsNotPublic(prodRds(), {})).toEqual([]);
    expect(rules.rdsNotPublic(prodRds({ publiclyAccessible: true }), {})).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": publiclyAccessible is not false`,
    ]);
  });

  it("security-group-not-open", () => {
    const sg = (cidrBlocks: string[]) =>
      subject(T.securityGroup, "platform-postgres-rds-sg", {
        ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks }],
      });
    expect(rules.securityGroupNotOpen(sg(["10.0.0.0/16"]), {})).toEqual([]);
    expect(rules.securityGroupNotOpen(sg(["0.0.0.0/0"]), {})).toEqual([
      `${T.securityGroup} "platform-postgres-rds-sg": ingress on 5432-5432 admits the whole internet`,
    ]);
  });

  it("rds-force-ssl", () => {
    expect(rules.rdsForceSsl(prodRds(), [parameterGroup([{ name: "rds.force_ssl", value: "1" }])])).toEqual(
      [],
    );
    expect(rules.rdsForceSsl(prodRds(), [parameterGroup([{ name: "rds.force_ssl", value: "0" }])])).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": parameter group "pdb-prod-postgres17" does not set rds.force_ssl=1 (TLS required)`,
    ]);
    expect(rules.rdsForceSsl(prodRds(), [])[0]).toContain(
      'parameter group "pdb-prod-postgres17" is not defined in this stack',
    );
    expect(rules.rdsForceSsl(prodRds({ parameterGroupName: undefined }), [])[0]).toContain(
      "no parameterGroupName",
    );
  });

  it("prod-deletion-protection", () => {
    expect(rules.prodDeletionProtection(prodCloudSql(), { environment: "prod" })).toEqual([]);
    expect(rules.prodDeletionProtection(prodRds(), { environment: "prod" })).toEqual([]);
    const unprotected = {
      ...prodRds({ deletionProtection: false, skipFinalSnapshot: true }),
      protect: false,
    };
    expect(rules.prodDeletionProtection(unprotected, { environment: "prod" })).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": deletionProtection is not true in prod`,
      `${T.rdsInstance} "platform-postgres-rds-instance": skipFinalSnapshot is not false in prod (finalBackup)`,
      `${T.rdsInstance} "platform-postgres-rds-instance": Pulumi protect is not set in prod`,
    ]);
    expect(rules.prodDeletionProtection(unprotected, { environment: "staging" })).toEqual([]);
    const cloudSql = prodCloudSql({ deletionProtection: false }, { deletionProtectionEnabled: false });
    expect(rules.prodDeletionProtection(cloudSql, { environment: "prod" })).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": deletionProtection is not true in prod`,
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.deletionProtectionEnabled is not true in prod`,
    ]);
  });

  it("prod-high-availability", () => {
    expect(rules.prodHighAvailability(prodCloudSql(), { environment: "prod" })).toEqual([]);
    expect(
      rules.prodHighAvailability(prodCloudSql({}, { availabilityType: "ZONAL" }), { environment: "prod" }),
    ).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.availabilityType is not REGIONAL in prod (highAvailability)`,
    ]);
    expect(rules.prodHighAvailability(prodRds({ multiAz: false }), { environment: "prod" })).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": multiAz is not true in prod (highAvailability)`,
    ]);
    expect(rules.prodHighAvailability(prodRds({ multiAz: false }), { environment: "staging" })).toEqual([]);
  });

  it("loosened-defaults", () => {
    expect(rules.loosenedDefaults(prodCloudSql(), {})).toEqual([]);
    expect(rules.loosenedDefaults(prodRds(), {})).toEqual([]);
    expect(
      rules.loosenedDefaults(
        parameterGroup([
          { name: "log_connections", value: "1" },
          { name: "log_disconnections", value: "1" },
          { name: "log_lock_waits", value: "1" },
          { name: "log_min_duration_statement", value: "1000" },
        ]),
        {},
      ),
    ).toEqual([]);
    const loose = prodCloudSql(
      {},
      {
        availabilityType: "ZONAL",
        databaseFlags: [
          { name: "cloudsql.iam_authentication", value: "off" },
          { name: "log_connections", value: "off" },
        ],
      },
    );
    expect(rules.loosenedDefaults(loose, {})).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": availabilityType ZONAL (highAvailability: false)`,
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": cloudsql.iam_authentication is not on (databaseFlags)`,
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": log_connections is off (default on)`,
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": log_disconnections is unset (default on)`,
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": log_lock_waits is unset (default on)`,
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": log_min_duration_statement is unset (slow statements not logged)`,
    ]);
    expect(
      rules.loosenedDefaults(
        prodRds({ allowMajorVersionUpgrade: true, enabledCloudwatchLogsExports: ["postgresql"] }),
        {},
      ),
    ).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": automatic major upgrades allowed`,
      `${T.rdsInstance} "platform-postgres-rds-instance": upgrade log not exported to CloudWatch`,
    ]);
  });
});

describe("resolveEnvironment", () => {
  it("takes the policy config first, then the instance's label or tag, then the stack name", () => {
    const plain = subject(T.database, "db", { name: "gdpr" }, "staging");
    expect(rules.resolveEnvironment(undefined, plain)).toBe("staging");
    expect(rules.resolveEnvironment("prod", plain)).toBe("prod");
    expect(
      rules.resolveEnvironment(
        undefined,
        subject(T.rdsInstance, "i", { tags: { environment: "prod" } }, "eu-live"),
      ),
    ).toBe("prod");
    expect(rules.resolveEnvironment(undefined, subject(T.database, "db", {}, "eu-live"))).toBeUndefined();
    expect(rules.resolveEnvironment("qa", subject(T.database, "db", {}, "eu-live"))).toBeUndefined();
  });
});

// The policies as the engine calls them (a resource's inputs, the stack's config).

interface Reported {
  policy: string;
  level: string;
  message: string;
  urn?: string;
}

function options(s: Subject) {
  return {
    protect: s.protect === true,
    ignoreChanges: [],
    aliases: [],
    additionalSecretOutputs: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  };
}

/** Runs every policy of the pack over `subjects`, as the policy server would. */
async function analyze(
  subjects: Subject[],
  config: Record<string, Record<string, unknown>> = {},
): Promise<Reported[]> {
  const out: Reported[] = [];
  const notApplicable = (reason?: string): never => {
    throw new Error(`not applicable: ${reason}`);
  };
  for (const p of policies) {
    const level = p.enforcementLevel ?? "mandatory";
    const getConfig = <T extends object>() => (config[p.name] ?? {}) as T;
    if ("validateResource" in p) {
      const validate = (p as ResourceValidationPolicy).validateResource;
      for (const s of subjects) {
        const args = {
          ...s,
          opts: options(s),
          stackTags: new Map(),
          getConfig,
          notApplicable,
        } as unknown as ResourceValidationArgs;
        for (const v of Array.isArray(validate) ? validate : [validate!]) {
          await v(args, (message) => out.push({ policy: p.name, level, message, urn: s.urn }));
        }
      }
    } else {
      const resources = subjects.map((s) => ({
        ...s,
        opts: options(s),
        dependencies: [],
        propertyDependencies: {},
      })) as unknown as PolicyResource[];
      const args = {
        resources,
        stackTags: new Map(),
        getConfig,
        notApplicable,
      } as unknown as StackValidationArgs;
      await (p as StackValidationPolicy).validateStack(args, (message, urn) =>
        out.push({ policy: p.name, level, message, urn }),
      );
    }
  }
  return out;
}

describe("the policies as the engine calls them", () => {
  it("names each policy once, mandatory except loosened-defaults", () => {
    const names = policies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(policies.filter((p) => p.enforcementLevel === "advisory").map((p) => p.name)).toEqual([
      "loosened-defaults",
    ]);
  });

  it("report a violation against the resource, with the environment from the policy config when given", async () => {
    const db = subject(T.database, "gdpr-database", { name: "gdpr" }, "eu-live");
    const unknown = await analyze([db]);
    expect(unknown.map((r) => r.policy)).toEqual(["database-naming"]);
    expect(await analyze([db], { "database-naming": { environment: "prod" } })).toEqual([]);
    expect(await analyze([db], { "database-naming": { environment: "test" } })).toEqual([
      {
        policy: "database-naming",
        level: "mandatory",
        message: `${T.database} "gdpr-database": database "gdpr" breaks ADR-0060 naming for environment test: expected "gdpr_test"`,
        urn: db.urn,
      },
    ]);
  });

  it("run rds-force-ssl over the stack and attribute it to the instance", async () => {
    const found = await analyze([prodRds(), parameterGroup([{ name: "rds.force_ssl", value: "0" }])]);
    expect(found.filter((r) => r.level === "mandatory")).toEqual([
      {
        policy: "rds-force-ssl",
        level: "mandatory",
        message: `${T.rdsInstance} "platform-postgres-rds-instance": parameter group "pdb-prod-postgres17" does not set rds.force_ssl=1 (TLS required)`,
        urn: prodRds().urn,
      },
    ]);
  });
});

// The pack over the resources the program itself registers (mocks).

async function analyzeStack(
  stack: "staging" | "prod",
  overrides: Record<string, string>,
): Promise<Reported[]> {
  const run = await runProgram(stackFileConfig(stack, overrides), stack, cloudMocks());
  return analyze(policySubjects(run.resources));
}

const mandatory = (r: Reported[]) =>
  r.filter((x) => x.level === "mandatory").map((x) => `${x.policy}: ${x.message}`);
const advisory = (r: Reported[]) => r.filter((x) => x.level === "advisory").map((x) => x.message);

describe("the pack over the program's mock graphs", () => {
  it.each(["gcp", "aws"])(
    "passes prod on %s with no violation at all",
    async (target) => {
      expect(await analyzeStack("prod", { target })).toEqual([]);
    },
    120_000,
  );

  it.each([
    ["gcp", "platform-postgres-cloudsql-instance", "availabilityType ZONAL (highAvailability: false)"],
    ["aws", "platform-postgres-rds-instance", "multiAz off (highAvailability: false)"],
  ])(
    "passes staging on %s, reporting (advisory) the defaults its config loosens",
    async (target, name, ha) => {
      const found = await analyzeStack("staging", { target });
      expect(mandatory(found)).toEqual([]);
      const type = target === "gcp" ? T.cloudSqlInstance : T.rdsInstance;
      expect(advisory(found)).toEqual([
        `${type} "${name}": ${ha}`,
        `${type} "${name}": deletion protection off (deletionProtection: false)`,
      ]);
    },
    120_000,
  );

  it.each<[string, string, Record<string, string>, string, string]>([
    [
      "gcp",
      "prod",
      { highAvailability: "false" },
      "prod-high-availability",
      "settings.availabilityType is not REGIONAL in prod",
    ],
    ["aws", "prod", { highAvailability: "false" }, "prod-high-availability", "multiAz is not true in prod"],
    [
      "gcp",
      "prod",
      { deletionProtection: "false" },
      "prod-deletion-protection",
      "Pulumi protect is not set in prod",
    ],
    [
      "aws",
      "prod",
      { deletionProtection: "false" },
      "prod-deletion-protection",
      "deletionProtection is not true in prod",
    ],
    [
      "gcp",
      "prod",
      { finalBackup: "false" },
      "prod-deletion-protection",
      "settings.retainBackupsOnDelete is not true in prod",
    ],
    [
      "aws",
      "prod",
      { finalBackup: "false" },
      "prod-deletion-protection",
      "skipFinalSnapshot is not false in prod",
    ],
    [
      "gcp",
      "staging",
      { gcpPointInTimeRecovery: "false" },
      "cloudsql-backups-pitr",
      "pointInTimeRecoveryEnabled is not true",
    ],
    [
      "aws",
      "staging",
      { databaseFlags: '["rds.force_ssl=0"]' },
      "rds-force-ssl",
      "does not set rds.force_ssl=1",
    ],
  ])(
    "on %s %s, %j fails the preview with %s",
    async (target, stack, overrides, policy, message) => {
      const found = mandatory(await analyzeStack(stack as "staging" | "prod", { target, ...overrides }));
      expect(found.length).toBeGreaterThan(0);
      for (const m of found)
        expect(m).toMatch(new RegExp(`^${policy}: (gcp|aws):[A-Za-z0-9/]+:[A-Za-z]+ "platform-postgres-`));
      expect(found.join("\n")).toContain(message);
    },
    120_000,
  );

  it.each<[string, Record<string, string>, string]>([
    [
      "gcp",
      { gcpPublicIp: "true", gcpAuthorizedNetworks: '["203.0.113.0/24"]' },
      "public IP on (gcpPublicIp: true)",
    ],
    [
      "gcp",
      { databaseFlags: '["cloudsql.iam_authentication=off"]' },
      "cloudsql.iam_authentication is not on (databaseFlags)",
    ],
    [
      "gcp",
      { databaseFlags: '["log_min_duration_statement=-1"]' },
      "log_min_duration_statement is -1 (slow statements not logged)",
    ],
    ["aws", { databaseFlags: '["log_connections=0"]' }, "log_connections is 0 (default on)"],
    ["gcp", { finalBackup: "false" }, "backups not kept on deletion (finalBackup: false)"],
    ["aws", { finalBackup: "false" }, "no final snapshot (finalBackup: false)"],
  ])(
    "on %s staging, loosening %j is reported",
    async (target, overrides, message) => {
      const found = await analyzeStack("staging", { target, ...overrides });
      expect(mandatory(found)).toEqual([]);
      expect(advisory(found).join("\n")).toContain(message);
    },
    120_000,
  );
});

// The pack as the real policy server runs it.

describe("the pack as `pulumi preview --policy-pack policy` runs it", () => {
  it("starts under @pulumi/pulumi's run-policy-pack (ts-node) and answers Analyze and AnalyzeStack", async () => {
    // The engine starts the pack the same way: node run-policy-pack <engine> . in policy/.
    const fromPulumi = createRequire(require.resolve("@pulumi/pulumi"));
    const grpc = fromPulumi("@grpc/grpc-js");
    const service = fromPulumi("@pulumi/pulumi/proto/analyzer_grpc_pb");
    const pb = fromPulumi("@pulumi/pulumi/proto/analyzer_pb");
    const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb");
    const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb");
    const runner = fromPulumi.resolve("@pulumi/pulumi/cmd/run-policy-pack");
    const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: "policy" });
    try {
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const port = await new Promise<string>((resolve, reject) => {
        child.stdout.once("data", (d) => resolve(String(d).trim()));
        child.once("exit", (code) => reject(new Error(`policy pack exited ${code}: ${stderr}`)));
      });
      const client = new service.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const call = <T>(method: string, req: unknown) =>
        new Promise<T>((resolve, reject) =>
          client[method](req, (e: Error | null, r: T) => (e ? reject(e) : resolve(r))),
        );
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const diagnostics = (res: any) =>
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        res.getDiagnosticsList().map((d: any) => [
          d.getPolicyname(),
          d.getEnforcementlevel() === 1 ? "mandatory" : "advisory",
          // The server puts the policy's description on the first line.
          String(d.getMessage()).replace(`${d.getDescription()}\n`, ""),
        ]);

      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const info: any = await call("getAnalyzerInfo", new Empty());
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      expect(info.getPoliciesList().map((p: any) => p.getName())).toEqual(policies.map((p) => p.name));

      const cloudSql = prodCloudSql(
        {},
        { ipConfiguration: { ipv4Enabled: true, privateNetwork: "n", sslMode: "ENCRYPTED_ONLY" } },
      );
      const options = new pb.AnalyzerResourceOptions();
      options.setProtect(true);
      const request = new pb.AnalyzeRequest();
      request.setType(cloudSql.type);
      request.setName(cloudSql.name);
      request.setUrn(cloudSql.urn);
      request.setProperties(Struct.fromJavaScript(cloudSql.props));
      request.setOptions(options);
      expect(diagnostics(await call("analyze", request))).toEqual([
        [
          "cloudsql-network",
          "mandatory",
          `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.ipConfiguration.ipv4Enabled gives a public IP without authorizedNetworks`,
        ],
        [
          "loosened-defaults",
          "advisory",
          `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": public IP on (gcpPublicIp: true)`,
        ],
      ]);

      // A value unknown at preview downgrades that policy to an advisory notice.
      const unknownName = new pb.AnalyzeRequest();
      unknownName.setType(T.database);
      unknownName.setName("gdpr-database");
      unknownName.setUrn(`urn:pulumi:prod::platform-databases::${T.database}::gdpr-database`);
      unknownName.setProperties(Struct.fromJavaScript({ name: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }));
      unknownName.setOptions(new pb.AnalyzerResourceOptions());
      expect(diagnostics(await call("analyze", unknownName))).toEqual([
        [
          "database-naming",
          "advisory",
          "can't run policy 'database-naming' from policy pack 'platform-databases@v0.1.0' during preview: string value at .name can't be known during preview",
        ],
      ]);

      const stack = new pb.AnalyzeStackRequest();
      stack.setResourcesList(
        [prodRds(), parameterGroup([{ name: "rds.force_ssl", value: "0" }])].map((s) => {
          const r = new pb.AnalyzerResource();
          r.setType(s.type);
          r.setName(s.name);
          r.setUrn(s.urn);
          r.setProperties(Struct.fromJavaScript(s.props));
          const o = new pb.AnalyzerResourceOptions();
          o.setProtect(s.protect === true);
          r.setOptions(o);
          return r;
        }),
      );
      expect(diagnostics(await call("analyzeStack", stack))).toEqual([
        [
          "rds-force-ssl",
          "mandatory",
          `${T.rdsInstance} "platform-postgres-rds-instance": parameter group "pdb-prod-postgres17" does not set rds.force_ssl=1 (TLS required)`,
        ],
      ]);
      client.close();
    } finally {
      child.kill();
    }
  }, 300_000);
});

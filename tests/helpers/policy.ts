/**
 * The policy tests' fixtures: fake resources as the policy engine shows them
 * (prod's hardened Cloud SQL and RDS instances, an RDS parameter group), and
 * `analyze`, which runs every policy of the pack over resources the way the
 * policy server does.
 */
import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { policies } from "../../policy/policies";
import { TYPES } from "../../policy/rules";
import type { Subject } from "../../policy/rules";
import { baselineFlags } from "../../components/config/database-flags";

export const T = TYPES;

/** `{name: value}` as a Cloud SQL flag list / RDS parameter list. */
export const flagList = (flags: Record<string, string>) =>
  Object.entries(flags).map(([name, value]) => ({ name, value }));
/** The program's default Cloud SQL flags: IAM authentication and the logging baseline. */
export const CLOUDSQL_FLAGS = { "cloudsql.iam_authentication": "on", ...baselineFlags("gcp") };
/** The program's default RDS parameters. */
export const RDS_PARAMETERS = { "rds.force_ssl": "1", ...baselineFlags("aws") };

export function subject(
  type: string,
  name: string,
  props: Record<string, unknown>,
  stack = "prod",
  protect = false,
): Subject {
  return { type, name, urn: `urn:pulumi:${stack}::platform-databases::${type}::${name}`, props, protect };
}

export const prodCloudSql = (
  overrides: Record<string, unknown> = {},
  settings: Record<string, unknown> = {},
) =>
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
        backupConfiguration: {
          enabled: true,
          pointInTimeRecoveryEnabled: true,
          backupRetentionSettings: { retainedBackups: 30, retentionUnit: "COUNT" },
        },
        databaseFlags: flagList(CLOUDSQL_FLAGS),
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

export const prodRds = (overrides: Record<string, unknown> = {}) =>
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
      backupRetentionPeriod: 30,
      performanceInsightsEnabled: true,
      monitoringInterval: 60,
      autoMinorVersionUpgrade: true,
      allowMajorVersionUpgrade: false,
      enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
      tags: { environment: "prod" },
      ...overrides,
    },
    "prod",
    true,
  );

export const parameterGroup = (parameters: { name: string; value: string }[]) =>
  subject(T.rdsParameterGroup, "platform-postgres-rds-params", {
    name: "pdb-prod-postgres17",
    parameters,
    tags: { environment: "prod" },
  });

// The policies as the engine calls them (a resource's inputs, the stack's config).

export interface Reported {
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
export async function analyze(
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

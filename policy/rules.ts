/**
 * The policy pack's rules as pure functions: a resource (type, name, URN,
 * inputs, protect) in, violation messages out. policies.ts wraps them into
 * @pulumi/policy policies; tests call them with fake resources.
 *
 * Every message names the resource (`<type> "<name>"`) and the property.
 * The naming rules come from components/naming.ts and the forbidden role
 * attributes from components/grants.ts, so the pack and the program share
 * one definition.
 */
import {
  ENVIRONMENTS,
  Environment,
  databaseName,
  isEnvironment,
  monitoringRoleName,
  parseDatabaseName,
} from "../components/naming";
import { FORBIDDEN_LOGIN_ATTRIBUTES } from "../components/database/grants";

export const TYPES = {
  database: "postgresql:index/database:Database",
  role: "postgresql:index/role:Role",
  postgresqlProvider: "pulumi:providers:postgresql",
  cloudSqlInstance: "gcp:sql/databaseInstance:DatabaseInstance",
  cloudSqlUser: "gcp:sql/user:User",
  rdsInstance: "aws:rds/instance:Instance",
  rdsParameterGroup: "aws:rds/parameterGroup:ParameterGroup",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
} as const;

/** A resource as the policy engine shows it: inputs (secrets unwrapped) and options. */
export interface Subject {
  type: string;
  name: string;
  urn: string;
  // Resource inputs are untyped JSON here, as in @pulumi/policy.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  props: Record<string, any>;
  /** Pulumi `protect`. */
  protect?: boolean;
}

export interface RuleContext {
  /** The stack's ADR-0060 environment, when known (see resolveEnvironment). */
  environment?: Environment;
}

export type Rule = (subject: Subject, ctx: RuleContext) => string[];

function label(s: Subject): string {
  return `${s.type} "${s.name}"`;
}

/** The stack segment of `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOfUrn(urn: string): string | undefined {
  const match = /^urn:pulumi:([^:]+)::/.exec(urn);
  return match ? match[1] : undefined;
}

/**
 * The stack's environment: the policy config's `environment` if given, else
 * the `environment` label (Cloud SQL) or tag (RDS) the program puts on the
 * instance, else the stack name when it is one of dev, test, staging, prod.
 */
export function resolveEnvironment(configured: unknown, subject: Subject): Environment | undefined {
  if (isEnvironment(configured)) return configured;
  const labelled = subject.props?.settings?.userLabels?.environment ?? subject.props?.tags?.environment;
  if (isEnvironment(labelled)) return labelled;
  const stack = stackOfUrn(subject.urn);
  return isEnvironment(stack) ? stack : undefined;
}

function unknownEnvironment(s: Subject): string {
  return (
    `${label(s)}: cannot tell the stack's environment (stack "${stackOfUrn(s.urn) ?? "?"}" is not one of ` +
    `${ENVIRONMENTS.join(", ")}): set the policy's environment in --policy-pack-config`
  );
}

/** Truthiness of an input that the engine may pass as a boolean or as a string (provider config). */
function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

// ADR-0060 naming of databases and roles.

/** Database names follow ADR-0060 for the environment: `{service}`, or `{service}_test` in test. */
export const databaseNaming: Rule = (s, { environment }) => {
  if (s.type !== TYPES.database) return [];
  if (!environment) return [unknownEnvironment(s)];
  const name = String(s.props.name ?? s.name);
  const { service } = parseDatabaseName(name);
  let expected: string;
  try {
    expected = databaseName(service, environment);
  } catch (err) {
    return [`${label(s)}: database "${name}" breaks ADR-0060 naming: ${(err as Error).message}`];
  }
  return expected === name
    ? []
    : [
        `${label(s)}: database "${name}" breaks ADR-0060 naming for environment ${environment}: expected "${expected}"`,
      ];
};

/**
 * Role names follow ADR-0060 for the environment: `{database}_app` (login),
 * `{database}_owner` (schema owner), `{database}_retention` (retention purge) or
 * `{database}_backup` (logical backups) for a database named by the
 * convention, or the environment's monitoring role.
 */
export const roleNaming: Rule = (s, { environment }) => {
  if (s.type !== TYPES.role) return [];
  if (!environment) return [unknownEnvironment(s)];
  const name = String(s.props.name ?? s.name);
  if (name === monitoringRoleName(environment)) return [];
  const match = /^(.+)_(app|owner|retention|backup)$/.exec(name);
  if (match) {
    const db = match[1];
    try {
      if (databaseName(parseDatabaseName(db).service, environment) === db) return [];
    } catch {
      // fall through: not a convention database name
    }
  }
  const example = databaseName("gdpr", environment);
  return [
    `${label(s)}: role "${name}" breaks ADR-0060 naming for environment ${environment}: expected {database}_app, ` +
      `{database}_owner, {database}_retention or {database}_backup for a database named by the convention (e.g. ${example}_app), or ${monitoringRoleName(environment)}`,
  ];
};

// Least privilege of the roles the program creates.

/** No role the program creates is SUPERUSER or may create databases or roles (or replicate, or bypass RLS). */
export const roleLeastPrivilege: Rule = (s) => {
  if (s.type !== TYPES.role) return [];
  const name = String(s.props.name ?? s.name);
  return FORBIDDEN_LOGIN_ATTRIBUTES.filter((attr) => isTrue(s.props[attr])).map(
    (attr) =>
      `${label(s)}: role "${name}" has ${attr}: true; service roles get none of ${FORBIDDEN_LOGIN_ATTRIBUTES.join(", ")}`,
  );
};

/** The postgresql provider connects as a non-superuser admin and, outside dev/test, never without TLS. */
export const providerConnection: Rule = (s, { environment }) => {
  if (s.type !== TYPES.postgresqlProvider) return [];
  const out: string[] = [];
  if (s.props.superuser === undefined || isTrue(s.props.superuser)) {
    out.push(
      `${label(s)}: superuser must be false: the admin is CREATEDB CREATEROLE, like Cloud SQL's and RDS's`,
    );
  }
  const scheme = s.props.scheme ?? "postgres";
  if (
    (environment === "staging" || environment === "prod") &&
    scheme === "postgres" &&
    s.props.sslmode === "disable"
  ) {
    out.push(`${label(s)}: sslmode "disable" in ${environment}: connections to a managed server use TLS`);
  }
  return out;
};

const SERVICE_ROLE = /(_app|_owner)$|^db_monitor(_test)?$/;

/**
 * Service roles are created in SQL (ServiceDatabase), never through the Cloud
 * SQL user API, whose users join cloudsqlsuperuser.
 */
export const noServiceRolesInCloudSqlApi: Rule = (s) => {
  if (s.type !== TYPES.cloudSqlUser) return [];
  const name = String(s.props.name ?? s.name);
  return SERVICE_ROLE.test(name)
    ? [
        `${label(s)}: "${name}" is a service role created through the Cloud SQL API, which makes it a member of ` +
          `cloudsqlsuperuser; create it in SQL (ServiceDatabase, postgresql provider)`,
      ]
    : [];
};

// Cloud SQL instances (target gcp).

const WORLD = ["0.0.0.0/0", "::/0"];

/** No public IP without authorized networks, and none open to the world. */
export const cloudSqlNetwork: Rule = (s) => {
  if (s.type !== TYPES.cloudSqlInstance) return [];
  const ip = s.props.settings?.ipConfiguration ?? {};
  // The API's default is a public IPv4 address: only an explicit false is private.
  const publicIp = ip.ipv4Enabled !== false;
  const networks: { value?: string }[] = ip.authorizedNetworks ?? [];
  const out: string[] = [];
  if (publicIp && networks.length === 0) {
    out.push(
      `${label(s)}: settings.ipConfiguration.ipv4Enabled gives a public IP without authorizedNetworks`,
    );
  }
  for (const n of networks) {
    if (WORLD.includes(String(n.value))) {
      out.push(`${label(s)}: authorizedNetworks admits ${n.value}, the whole internet`);
    }
  }
  if (!publicIp && !ip.privateNetwork) {
    out.push(
      `${label(s)}: settings.ipConfiguration.privateNetwork is not set: the instance has no reachable address`,
    );
  }
  return out;
};

/** TLS required: sslMode ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED. */
export const cloudSqlRequireSsl: Rule = (s) => {
  if (s.type !== TYPES.cloudSqlInstance) return [];
  const mode = s.props.settings?.ipConfiguration?.sslMode;
  return mode === "ENCRYPTED_ONLY" || mode === "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    ? []
    : [
        `${label(s)}: settings.ipConfiguration.sslMode is ${JSON.stringify(mode ?? null)}; require TLS (ENCRYPTED_ONLY)`,
      ];
};

/** Automated backups and point-in-time recovery on. */
export const cloudSqlBackups: Rule = (s) => {
  if (s.type !== TYPES.cloudSqlInstance) return [];
  const backup = s.props.settings?.backupConfiguration ?? {};
  const out: string[] = [];
  if (backup.enabled !== true) out.push(`${label(s)}: settings.backupConfiguration.enabled is not true`);
  if (backup.pointInTimeRecoveryEnabled !== true) {
    out.push(
      `${label(s)}: settings.backupConfiguration.pointInTimeRecoveryEnabled is not true (gcpPointInTimeRecovery)`,
    );
  }
  return out;
};

// RDS instances (target aws).

/** Storage encrypted. */
export const rdsEncrypted: Rule = (s) =>
  s.type === TYPES.rdsInstance && s.props.storageEncrypted !== true
    ? [`${label(s)}: storageEncrypted is not true`]
    : [];

/** Not publicly accessible. */
export const rdsNotPublic: Rule = (s) =>
  s.type === TYPES.rdsInstance && s.props.publiclyAccessible !== false
    ? [`${label(s)}: publiclyAccessible is not false`]
    : [];

/** No security group admits the whole internet. */
export const securityGroupNotOpen: Rule = (s) => {
  if (s.type !== TYPES.securityGroup) return [];
  const rules: { cidrBlocks?: string[]; ipv6CidrBlocks?: string[]; fromPort?: number; toPort?: number }[] =
    s.props.ingress ?? [];
  return rules
    .filter((r) => [...(r.cidrBlocks ?? []), ...(r.ipv6CidrBlocks ?? [])].some((c) => WORLD.includes(c)))
    .map((r) => `${label(s)}: ingress on ${r.fromPort}-${r.toPort} admits the whole internet`);
};

/**
 * The instance's parameter group, defined in the same stack, sets
 * `rds.force_ssl=1`. Takes the stack's parameter groups.
 */
export function rdsForceSsl(s: Subject, parameterGroups: Subject[]): string[] {
  if (s.type !== TYPES.rdsInstance) return [];
  const groupName = s.props.parameterGroupName;
  if (!groupName) return [`${label(s)}: no parameterGroupName: the default group does not force TLS`];
  const group = parameterGroups.find((g) => g.type === TYPES.rdsParameterGroup && g.props.name === groupName);
  if (!group) {
    return [
      `${label(s)}: parameter group "${groupName}" is not defined in this stack: cannot verify rds.force_ssl`,
    ];
  }
  const param = (group.props.parameters ?? []).find((p: { name?: string }) => p.name === "rds.force_ssl");
  return param && String(param.value) === "1"
    ? []
    : [`${label(s)}: parameter group "${groupName}" does not set rds.force_ssl=1 (TLS required)`];
}

// Environment prod only.

/** In prod: deletion protection on every level, and a last backup on deletion. */
export const prodDeletionProtection: Rule = (s, { environment }) => {
  if (environment !== "prod") return [];
  const out: string[] = [];
  if (s.type === TYPES.cloudSqlInstance) {
    if (s.props.deletionProtection !== true) out.push(`${label(s)}: deletionProtection is not true in prod`);
    if (s.props.settings?.deletionProtectionEnabled !== true) {
      out.push(`${label(s)}: settings.deletionProtectionEnabled is not true in prod`);
    }
    if (s.props.settings?.retainBackupsOnDelete !== true) {
      out.push(`${label(s)}: settings.retainBackupsOnDelete is not true in prod (finalBackup)`);
    }
  } else if (s.type === TYPES.rdsInstance) {
    if (s.props.deletionProtection !== true) out.push(`${label(s)}: deletionProtection is not true in prod`);
    if (s.props.skipFinalSnapshot !== false)
      out.push(`${label(s)}: skipFinalSnapshot is not false in prod (finalBackup)`);
  } else {
    return [];
  }
  if (s.protect !== true) out.push(`${label(s)}: Pulumi protect is not set in prod`);
  return out;
};

/** In prod: a standby in a second zone. */
export const prodHighAvailability: Rule = (s, { environment }) => {
  if (environment !== "prod") return [];
  if (s.type === TYPES.cloudSqlInstance && s.props.settings?.availabilityType !== "REGIONAL") {
    return [`${label(s)}: settings.availabilityType is not REGIONAL in prod (highAvailability)`];
  }
  if (s.type === TYPES.rdsInstance && s.props.multiAz !== true) {
    return [`${label(s)}: multiAz is not true in prod (highAvailability)`];
  }
  return [];
};

// Hardened defaults a stack loosened: advisory, reported but not refused.

function flag(list: { name?: string; value?: string }[] | undefined, name: string): string | undefined {
  return (list ?? []).find((f) => f.name === name)?.value;
}

const OFF = ["off", "0", "false"];

/** The logging flags/parameters both clouds get by default, and their loosened values. */
function loosenedLogging(s: Subject, list: { name?: string; value?: string }[] | undefined): string[] {
  const out: string[] = [];
  for (const name of ["log_connections", "log_disconnections", "log_lock_waits"]) {
    const value = flag(list, name);
    if (value === undefined || OFF.includes(value))
      out.push(`${label(s)}: ${name} is ${value ?? "unset"} (default on)`);
  }
  const slow = flag(list, "log_min_duration_statement");
  if (slow === undefined || slow === "-1")
    out.push(`${label(s)}: log_min_duration_statement is ${slow ?? "unset"} (slow statements not logged)`);
  return out;
}

/**
 * Every hardened default a stack turned off by config, in any environment:
 * reported (advisory) so that a loosening is always visible in the preview.
 */
export const loosenedDefaults: Rule = (s) => {
  const out: string[] = [];
  if (s.type === TYPES.cloudSqlInstance) {
    const st = s.props.settings ?? {};
    if (st.availabilityType !== "REGIONAL")
      out.push(`${label(s)}: availabilityType ${st.availabilityType ?? "unset"} (highAvailability: false)`);
    if (s.props.deletionProtection !== true || st.deletionProtectionEnabled !== true || s.protect !== true) {
      out.push(`${label(s)}: deletion protection off (deletionProtection: false)`);
    }
    if (st.retainBackupsOnDelete !== true)
      out.push(`${label(s)}: backups not kept on deletion (finalBackup: false)`);
    if (st.ipConfiguration?.ipv4Enabled !== false) out.push(`${label(s)}: public IP on (gcpPublicIp: true)`);
    if (flag(st.databaseFlags, "cloudsql.iam_authentication") !== "on") {
      out.push(`${label(s)}: cloudsql.iam_authentication is not on (databaseFlags)`);
    }
    out.push(...loosenedLogging(s, st.databaseFlags));
    if (st.insightsConfig?.queryInsightsEnabled !== true) out.push(`${label(s)}: Query Insights off`);
    if (st.passwordValidationPolicy?.enablePasswordPolicy !== true)
      out.push(`${label(s)}: password policy off`);
  } else if (s.type === TYPES.rdsInstance) {
    if (s.props.multiAz !== true) out.push(`${label(s)}: multiAz off (highAvailability: false)`);
    if (s.props.deletionProtection !== true || s.protect !== true) {
      out.push(`${label(s)}: deletion protection off (deletionProtection: false)`);
    }
    if (s.props.skipFinalSnapshot !== false) out.push(`${label(s)}: no final snapshot (finalBackup: false)`);
    if (s.props.iamDatabaseAuthenticationEnabled !== true)
      out.push(`${label(s)}: IAM database authentication off`);
    if (s.props.performanceInsightsEnabled !== true) out.push(`${label(s)}: Performance Insights off`);
    if (s.props.autoMinorVersionUpgrade !== true) out.push(`${label(s)}: automatic minor upgrades off`);
    if (s.props.allowMajorVersionUpgrade === true) out.push(`${label(s)}: automatic major upgrades allowed`);
    const exports: string[] = s.props.enabledCloudwatchLogsExports ?? [];
    for (const log of ["postgresql", "upgrade"]) {
      if (!exports.includes(log)) out.push(`${label(s)}: ${log} log not exported to CloudWatch`);
    }
  } else if (s.type === TYPES.rdsParameterGroup) {
    out.push(...loosenedLogging(s, s.props.parameters));
  }
  return out;
};

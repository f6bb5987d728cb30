/**
 * The pack's policies: each wraps a rule of rules.ts. Kept apart from
 * index.ts (which starts the policy server) so tests can call them.
 */
import type {
  Policies,
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import {
  Rule,
  Subject,
  TYPES,
  cloudSqlBackups,
  cloudSqlNetwork,
  cloudSqlRequireSsl,
  databaseNaming,
  loosenedDefaults,
  noServiceRolesInCloudSqlApi,
  prodBackupRetention,
  prodDeletionProtection,
  prodHighAvailability,
  prodIamAuthentication,
  prodLoggingBaseline,
  prodNoPublicIp,
  providerConnection,
  rdsEncrypted,
  rdsForceSsl,
  rdsNotPublic,
  resolveEnvironment,
  roleLeastPrivilege,
  roleNaming,
  securityGroupNotOpen,
} from "./rules";
import { ENVIRONMENTS } from "../components/naming";

/** Every policy may be told the environment, for stacks not named after one. */
const ENVIRONMENT_CONFIG = {
  properties: {
    environment: {
      type: "string" as const,
      enum: [...ENVIRONMENTS],
      description:
        "ADR-0060 environment of the stack. Default: the instance's environment label/tag, else the stack name.",
    },
  },
};

function subjectOf(args: ResourceValidationArgs | PolicyResource): Subject {
  return { type: args.type, name: args.name, urn: args.urn, props: args.props, protect: args.opts?.protect };
}

function resourcePolicy(
  name: string,
  description: string,
  rule: Rule,
  enforcementLevel: "mandatory" | "advisory" = "mandatory",
): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel,
    configSchema: ENVIRONMENT_CONFIG,
    validateResource: (args, reportViolation) => {
      const subject = subjectOf(args);
      const environment = resolveEnvironment(args.getConfig<{ environment?: string }>().environment, subject);
      for (const message of rule(subject, { environment })) reportViolation(message);
    },
  };
}

const rdsForceSslPolicy: StackValidationPolicy = {
  name: "rds-force-ssl",
  description: "RDS instances use a parameter group of this stack that sets rds.force_ssl=1.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const subjects = args.resources.map(subjectOf);
    const groups = subjects.filter((s) => s.type === TYPES.rdsParameterGroup);
    for (const s of subjects) for (const message of rdsForceSsl(s, groups)) reportViolation(message, s.urn);
  },
};

export const policies: Policies = [
  resourcePolicy(
    "database-naming",
    "Database names follow ADR-0060 for the stack's environment.",
    databaseNaming,
  ),
  resourcePolicy(
    "role-naming",
    "Role names follow ADR-0060: {database}_app, {database}_app_a/_b, {database}_owner, {database}_retention, {database}_backup, or the monitoring role.",
    roleNaming,
  ),
  resourcePolicy(
    "role-least-privilege",
    "No role is SUPERUSER or has CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS.",
    roleLeastPrivilege,
  ),
  resourcePolicy(
    "provider-connection",
    "The postgresql provider connects as a non-superuser, over TLS in staging and prod.",
    providerConnection,
  ),
  resourcePolicy(
    "no-service-roles-in-cloud-sql-api",
    "Service roles are created in SQL, never as Cloud SQL users (which join cloudsqlsuperuser).",
    noServiceRolesInCloudSqlApi,
  ),
  resourcePolicy(
    "cloudsql-network",
    "Cloud SQL: private IP; a public IP only with authorized networks, never 0.0.0.0/0.",
    cloudSqlNetwork,
  ),
  resourcePolicy("cloudsql-require-ssl", "Cloud SQL accepts only TLS connections.", cloudSqlRequireSsl),
  resourcePolicy(
    "cloudsql-backups-pitr",
    "Cloud SQL has automated backups and point-in-time recovery.",
    cloudSqlBackups,
  ),
  resourcePolicy("rds-encrypted", "RDS storage is encrypted.", rdsEncrypted),
  resourcePolicy("rds-not-public", "RDS instances are not publicly accessible.", rdsNotPublic),
  resourcePolicy("security-group-not-open", "No security group admits 0.0.0.0/0.", securityGroupNotOpen),
  rdsForceSslPolicy,
  resourcePolicy(
    "prod-deletion-protection",
    "In prod, instances have deletion protection (API and Pulumi protect) and keep a final backup.",
    prodDeletionProtection,
  ),
  resourcePolicy(
    "prod-high-availability",
    "In prod, instances are highly available (REGIONAL / Multi-AZ).",
    prodHighAvailability,
  ),
  resourcePolicy(
    "prod-no-public-ip",
    "In prod, Cloud SQL instances have no public IP (CIS 6.6).",
    prodNoPublicIp,
  ),
  resourcePolicy(
    "prod-backup-retention",
    "In prod, instances keep at least 7 days of automated backups (RDS.11).",
    prodBackupRetention,
  ),
  resourcePolicy(
    "prod-logging-baseline",
    "In prod, the logging baseline holds: CIS 6.2.x flags, no statement text in the logs, pgaudit on DDL and role changes, the PostgreSQL log exported.",
    prodLoggingBaseline,
  ),
  resourcePolicy(
    "prod-iam-authentication",
    "In prod, IAM database authentication is on.",
    prodIamAuthentication,
  ),
  resourcePolicy(
    "loosened-defaults",
    "Reports every hardened default a stack turned off by config (HA, deletion protection, public IP, backup retention, logging baseline, IAM authentication, monitoring, …).",
    loosenedDefaults,
    "advisory",
  ),
];

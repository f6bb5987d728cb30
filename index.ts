/**
 * ADR-0060 database architecture: read the stack's config, build one
 * DatabasePlatform, export its outputs. Every rule lives in components/.
 */
import { DatabasePlatform, readStackConfig } from "./components";

const cfg = readStackConfig();

const platform = new DatabasePlatform("platform", {
  config: cfg,
  adminPassword: cfg.adminPassword,
  kubeconfig: cfg.kubeconfig,
  // Stacks deployed before DatabasePlatform keep every resource (no replacement).
  adoptStackLevelResources: true,
});

/** ADR-0060 environment: dev, test, staging or prod. */
export const environment = platform.environment;
/** Database name by service (`gdpr`, or `gdpr_test` in test). */
export const databaseNames = platform.databaseNames;
/** The active login user by service (what its Secret and URI log in as; changes on a rotation). */
export const roles = platform.roles;
/** The service role by service: NOLOGIN, holds the privileges; stable across rotations. */
export const serviceRoles = platform.serviceRoles;
/** Each service's rotation counter, active and standby login users (docs/rotation.md). */
export const loginUsers = platform.loginUsers;
/** Host, port and sslmode of the server. */
export const connection = platform.connection;
/** Each service's URI as its active login user (a secret). */
export const connectionUris = platform.connectionUris;
/** Values for the chart (`make helm-values`): names of databases, roles and Secrets; never a password. */
export const helmValues = platform.helmValues;
/** Highest applied migration by managed-schema service. */
export const schemaVersions = platform.schemaVersions;
/** ADR-0060's gdpr_schema_version (undefined without a managed-schema gdpr). */
export const gdprSchemaVersion = platform.schemaVersions.apply((v) => v.gdpr);
/** Retention role by service whose migrations define the purge (make purge). */
export const retentionRoles = platform.retentionRoles;
/** Each retention role's URI to its database (a secret). */
export const retentionUris = platform.retentionUris;
/** Backup role by service: reads its own database only (make backup). */
export const backupRoles = platform.backupRoles;
/** Each backup role's URI to its database (a secret). */
export const backupUris = platform.backupUris;
/** `gs://…` / `s3://…` of each backup bucket the stack creates, by service (targets gcp and aws). */
export const backupBuckets = platform.backupBuckets;
/** The IAM login's database user by service (config iamLogins; targets gcp and aws; docs/iam.md). */
export const iamUsers = platform.iamUsers;
/** The monitoring role's name (undefined when config monitoring is false). */
export const monitoringRole = platform.monitoringRole;
/** Its URI (a secret) to the first service database: `make check` and `make metrics` connect with it. */
export const monitoringUri = platform.monitoringUri;

/**
 * ADR-0060 database architecture: read the stack's config, build one
 * DatabasePlatform, return its outputs (the stack's outputs). Every rule lives
 * in components/.
 *
 * A function the host calls, rather than code that runs as the module loads:
 * reading the config awaits the local server's max_connections, and the
 * resources are registered after that, so the call stack the SDK records for
 * each one (its `stackTrace` in the state) is the program's own, without the
 * module loader's frames (docs/performance.md).
 */
import { DatabasePlatform, readStackConfig } from "./components";

async function platformDatabases() {
  const cfg = await readStackConfig();

  const platform = new DatabasePlatform("platform", {
    config: cfg,
    adminPassword: cfg.adminPassword,
    kubeconfig: cfg.kubeconfig,
    // Stacks deployed before DatabasePlatform keep every resource (no replacement).
    adoptStackLevelResources: true,
  });

  return {
    /** ADR-0060 environment: dev, test, staging or prod. */
    environment: platform.environment,
    /** Database name by service (`gdpr`, or `gdpr_test` in test). */
    databaseNames: platform.databaseNames,
    /** The active login user by service (what its Secret and URI log in as; changes on a rotation). */
    roles: platform.roles,
    /** The service role by service: NOLOGIN, holds the privileges; stable across rotations. */
    serviceRoles: platform.serviceRoles,
    /** Each service's rotation counter, active and standby login users (docs/rotation.md). */
    loginUsers: platform.loginUsers,
    /** Host, port and sslmode of the server. */
    connection: platform.connection,
    /** Each service's URI as its active login user (a secret). */
    connectionUris: platform.connectionUris,
    /** Values for the chart (`make helm-values`): names of databases, roles and Secrets; never a password. */
    helmValues: platform.helmValues,
    /** Highest applied migration by managed-schema service. */
    schemaVersions: platform.schemaVersions,
    /** ADR-0060's gdpr_schema_version (undefined without a managed-schema gdpr). */
    gdprSchemaVersion: platform.schemaVersions.apply((v) => v.gdpr),
    /** Retention role by service whose migrations define the purge (make purge). */
    retentionRoles: platform.retentionRoles,
    /** Each retention role's URI to its database (a secret). */
    retentionUris: platform.retentionUris,
    /** Backup role by service: reads its own database only (make backup). */
    backupRoles: platform.backupRoles,
    /** Each backup role's URI to its database (a secret). */
    backupUris: platform.backupUris,
    /** `gs://…` / `s3://…` of each backup bucket the stack creates, by service (targets gcp and aws). */
    backupBuckets: platform.backupBuckets,
    /** The IAM login's database user by service (config iamLogins; targets gcp and aws; docs/iam.md). */
    iamUsers: platform.iamUsers,
    /** The monitoring role's name (undefined when config monitoring is false). */
    monitoringRole: platform.monitoringRole,
    /** Its URI (a secret) to the first service database: `make check` and `make metrics` connect with it. */
    monitoringUri: platform.monitoringUri,
  };
}

// module.exports is the function: the host calls an exported function and
// takes what it returns as the stack's outputs (a CommonJS module's `default`
// export it would not call).
export = platformDatabases;

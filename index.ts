/**
 * ADR-0060 database architecture. This file only reads config and composes:
 * every rule lives in components/.
 */
import * as pulumi from "@pulumi/pulumi";
import { readStackConfig } from "./components/config/read-config";
import { PostgresTarget } from "./components/server/postgres-target";
import { ServiceDatabase } from "./components/database/service-database";
import { postgresUri } from "./components/server/connection";
// --- Helm values and Kubernetes Secrets ---
import {
  clusterEndpoints,
  HelmValuesInput,
  isChartService,
  renderHelmValues,
} from "./components/cluster/helm-values";
import { DatabaseSecrets } from "./components/cluster/database-secrets";
import { secretName } from "./components/naming";
// --- end Helm values and Kubernetes Secrets ---
// --- alerts (PrometheusRule in the cluster) ---
import { DatabaseAlerts, readPrometheusRule } from "./components/cluster/database-alerts";
// --- end alerts ---
// --- GDPR schema migrations ---
import * as path from "path";
import * as postgresql from "@pulumi/postgresql";
import { GdprMigrations } from "./components/schema/schema-migrations";
import { readMigrationsDir } from "./components/schema/migration-runner";
// --- end GDPR schema migrations ---
// --- monitoring role (make check, make metrics) ---
import { MonitoringRole } from "./components/observability/monitoring-role";
// --- end monitoring role ---
// --- retention purge (make purge; CronJob with a cluster) ---
import { RetentionJob } from "./components/schema/retention-role";
import { retentionJobName } from "./components/naming";
// --- end retention purge ---

const cfg = readStackConfig();

// --- GDPR schema migrations: read and validated before any resource is registered ---
const MIGRATIONS_DIR = path.join(__dirname, "migrations");
const gdprService = cfg.services.find((svc) => svc.name === "gdpr" && svc.profile === "managed-schema");
const gdprMigrationFiles = gdprService ? readMigrationsDir(MIGRATIONS_DIR) : [];
// --- end GDPR schema migrations ---
// --- alerts: the rule file is read and checked before any resource is registered ---
const ALERT_RULES_FILE = path.join(__dirname, "deployments/prometheus/database-alerts.yaml");
const alertRules = cfg.kubernetes && cfg.monitoring ? readPrometheusRule(ALERT_RULES_FILE) : undefined;
// --- end alerts ---

const target = new PostgresTarget("postgres", {
  target: cfg.target,
  host: cfg.host,
  port: cfg.port,
  sslmode: cfg.sslmode,
  adminUser: cfg.adminUser,
  adminPassword: cfg.adminPassword,
  postgresVersion: cfg.postgresVersion,
  // --- cloud targets (gcp, aws) ---
  cloud: cfg.cloud,
  environment: cfg.environment,
  // --- end cloud targets ---
});

/** A role's URI to one database of the stack's server, as a Pulumi secret (it holds the password). */
function secretUri(
  user: pulumi.Input<string>,
  password: pulumi.Input<string>,
  database: string,
): pulumi.Output<string> {
  return pulumi.secret(
    pulumi
      .all([user, password, target.host, target.port])
      .apply(([u, p, host, port]) =>
        postgresUri({ user: u, password: p, host, port, database, sslmode: cfg.sslmode }),
      ),
  );
}

const databases = cfg.services.map(
  (svc) =>
    new ServiceDatabase(
      svc.name,
      {
        service: svc.name,
        database: svc.database,
        loginRole: svc.loginRole,
        ownerRole: svc.ownerRole,
        profile: svc.profile,
        connectionLimit: svc.connectionLimit,
      },
      { providers: { postgresql: target.provider } },
    ),
);

// --- GDPR schema migrations (components/gdpr-migrations.ts) ---
// The runner connects as the stack's admin and SET ROLEs to the owner role.
// Admin password: the managed instance's, else config adminPassword (secret),
// else PGPASSWORD (how the local stacks pass it; made a secret here).
let gdprMigrations: GdprMigrations | undefined;
if (gdprService) {
  const gdpr = databases[cfg.services.indexOf(gdprService)];
  const envPassword = process.env.PGPASSWORD ? pulumi.secret(process.env.PGPASSWORD) : undefined;
  gdprMigrations = new GdprMigrations("gdpr-migrations", {
    host: target.host,
    port: target.port,
    sslmode: cfg.sslmode,
    adminUser: target.adminUser,
    adminPassword: target.instance?.adminPassword ?? cfg.adminPassword ?? envPassword,
    database: gdpr.databaseName,
    ownerRole: gdpr.ownerRoleName.apply((role) => role ?? ""),
    loginRole: gdpr.loginRoleName,
    migrations: gdprMigrationFiles,
    migrationsDir: MIGRATIONS_DIR,
    dependsOn: gdpr.ready,
    databaseResource: gdpr.ready.find((r) => postgresql.Database.isInstance(r)),
  });
}
/** ADR-0060's gdpr_schema_version: the highest applied migration (undefined without gdpr). */
export const gdprSchemaVersion = gdprMigrations?.version;
// --- end GDPR schema migrations ---

function byService(
  pick: (db: ServiceDatabase) => pulumi.Output<string>,
): pulumi.Output<Record<string, string>> {
  return pulumi
    .all(databases.map(pick))
    .apply((values) => Object.fromEntries(cfg.services.map((svc, i) => [svc.name, values[i]])));
}

export const environment = cfg.environment;
export const databaseNames = byService((db) => db.databaseName);
export const roles = byService((db) => db.loginRoleName);
export const connection = { host: target.host, port: target.port, sslmode: cfg.sslmode };
export const connectionUris = pulumi.secret(
  pulumi.all([target.host, target.port, byService((db) => db.password)]).apply(([host, port, passwords]) =>
    Object.fromEntries(
      cfg.services.map((svc) => [
        svc.name,
        postgresUri({
          user: svc.loginRole,
          password: passwords[svc.name],
          host,
          port,
          database: svc.database,
          sslmode: cfg.sslmode,
        }),
      ]),
    ),
  ),
);

// --- Helm values and Kubernetes Secrets (components/helm-values.ts, database-secrets.ts) ---
// The chart reaches the server at clusterHost when set (e.g. a kind cluster and
// a local server), else at the server's host. A Cloud SQL target adds its
// instance connection name here (cloudSqlInstanceConnectionName).
const helmInput: pulumi.Output<HelmValuesInput> = pulumi
  .all([target.host, target.port, target.cloudSqlConnectionName])
  .apply(([host, port, cloudSqlInstanceConnectionName]) => ({
    environment: cfg.environment,
    host: cfg.clusterHost ?? host,
    port,
    cloudSqlInstanceConnectionName,
    sslmode: cfg.sslmode,
    services: Object.fromEntries(
      cfg.services.map((svc) => [
        svc.name,
        {
          database: svc.database,
          user: svc.loginRole,
          secretName: secretName(svc.name, cfg.environment),
          connectionLimit: svc.connectionLimit,
        },
      ]),
    ),
  }));

/** Values for the chart (`make helm-values`): names of databases, roles and Secrets; never a password. */
export const helmValues = helmInput.apply(renderHelmValues);

let databaseSecrets: DatabaseSecrets | undefined;
if (cfg.kubernetes) {
  const secrets = (databaseSecrets = new DatabaseSecrets("database-secrets", {
    namespace: cfg.namespace as string,
    kubeconfig: cfg.kubeconfig,
    kubeContext: cfg.kubeContext,
    // One Secret per service the chart consumes (gdpr, openfga, keycloak).
    services: cfg.services.flatMap((svc, i) => {
      const service = svc.name;
      if (!isChartService(service)) return [];
      return [
        {
          service,
          secretName: secretName(service, cfg.environment),
          database: svc.database,
          user: databases[i].loginRoleName,
          password: databases[i].password,
          endpoint: helmInput.apply((input) => clusterEndpoints(input)[service]),
        },
      ];
    }),
  }));
  // --- alerts: the ADR's alerts next to the Secrets, when the checker's role exists ---
  if (alertRules) {
    new DatabaseAlerts("database-alerts", {
      rules: alertRules,
      databases: cfg.services.map((svc) => ({ service: svc.name, database: svc.database })),
      namespace: cfg.namespace as string,
      provider: secrets.provider,
    });
  }
  // --- end alerts ---
}
// --- end Helm values and Kubernetes Secrets ---

// --- monitoring role (components/monitoring-role.ts; make check, make metrics) ---
// Read-only: member of pg_monitor, CONNECT on each service database (their
// databaseName outputs, so the databases exist first), and SELECT on the GDPR
// version table once the migrations have created it.
let monitoring: MonitoringRole | undefined;
if (cfg.monitoring) {
  monitoring = new MonitoringRole(
    "monitoring",
    {
      roleName: cfg.monitoringRole,
      databases: cfg.services.map((svc, i) => ({
        service: svc.name,
        database: databases[i].databaseName,
        dependsOn: databases[i].ready,
      })),
      versionTables:
        gdprService && gdprMigrations
          ? [
              {
                service: gdprService.name,
                database: databases[cfg.services.indexOf(gdprService)].databaseName,
                dependsOn: [gdprMigrations],
              },
            ]
          : [],
    },
    { providers: { postgresql: target.provider } },
  );
}
/** The monitoring role's name (undefined when config monitoring is false). */
export const monitoringRole = monitoring?.roleName;
/** Its URI (a secret), to the first service database: `make check` and `make metrics` connect with it. */
export const monitoringUri = monitoring
  ? secretUri(cfg.monitoringRole, monitoring.password, cfg.services[0].database)
  : undefined;
// --- end monitoring role ---

// --- retention purge (components/retention-job.ts; make purge, CronJob with a cluster) ---
// A role that may only EXECUTE the GDPR purge function; its grants wait for
// the migrations (which create the function) and for every other grant on
// the gdpr database's ACLs (the monitoring role's CONNECT).
let retention: RetentionJob | undefined;
if (gdprService?.retentionRole && gdprMigrations) {
  const gdpr = databases[cfg.services.indexOf(gdprService)];
  retention = new RetentionJob(
    "gdpr-retention",
    {
      service: gdprService.name,
      database: gdpr.databaseName,
      roleName: gdprService.retentionRole,
      dependsOn: [gdprMigrations, ...(monitoring ? [monitoring] : [])],
      cluster: databaseSecrets
        ? {
            provider: databaseSecrets.provider,
            name: retentionJobName(gdprService.name, cfg.environment),
            namespace: cfg.namespace as string,
            schedule: cfg.retentionSchedule,
            postgresVersion: cfg.postgresVersion,
            // Direct to the server, as OpenFGA and Keycloak (no Cloud SQL proxy sidecar).
            endpoint: helmInput.apply(({ host, port, sslmode }) => ({ host, port, sslmode })),
          }
        : undefined,
    },
    { providers: { postgresql: target.provider } },
  );
}
/** The retention role's name (undefined without the gdpr migrations). */
export const retentionRole = retention?.roleName;
/** Its URI (a secret) to the gdpr database: `make purge` runs the purge with it. */
export const retentionUri =
  retention && gdprService?.retentionRole
    ? secretUri(gdprService.retentionRole, retention.password, gdprService.database)
    : undefined;
// --- end retention purge ---

/**
 * The ADR's metrics, in Prometheus text format, with prom-client (maintained,
 * pinned in package.json) rather than a hand-written exposition writer.
 *
 * `buildRegistry` is pure apart from prom-client's objects: a fresh Registry
 * per scrape, filled from one snapshot (health-collect.ts) and its results
 * (health-evaluate.ts), so a series disappears when its database does.
 *
 * ADR-0060 names:
 *   postgres_database_size_bytes{database}   pg_database_size of each service database
 *   postgres_connections_active{database}    open client connections to it (any state)
 *   gdpr_schema_version{database}            highest applied GDPR migration
 * and, for the checks and the alerts (deployments/prometheus/database-alerts.yaml):
 *   database_schema_version{database}        highest applied migration of each
 *                                            managed-schema service (gdpr's too)
 *   database_check_status{check,subject}     one series per `make check` row:
 *                                            1 PASS, 0 FAIL, -1 PENDING
 *   database_required_table_present{database,table}
 *                                            1/0 per table required-tables.ts
 *                                            expects; absent while the service
 *                                            has not migrated (PENDING)
 *   postgres_role_connections{role}          open connections of each service login role
 *   postgres_role_connection_limit{role}     its rolconnlimit (-1 = no limit)
 *   database_checks_up                       1 when the server could be read
 *   postgres_backup_last_success_timestamp_seconds{database}
 *                                            when its newest complete backup (manifest
 *                                            written) was taken; absent with none
 *   postgres_backup_max_age_seconds{database} the age its schedule allows
 *                                            (backup-age.ts), for the alert
 */
import { Gauge, Registry } from "prom-client";
import { ADR_MIGRATIONS_SERVICE } from "../schema/migration-paths";
import type { CheckResult, CheckStatus, HealthSpec, Snapshot } from "./health-spec";
import { requiredTables } from "./required-tables";
import { allowedBackupAgeSeconds, BackupStatus } from "./backup-age";

export const STATUS_VALUE: Record<CheckStatus, number> = { PASS: 1, FAIL: 0, PENDING: -1 };

function gauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Gauge<L> {
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

/**
 * The registry for one scrape. `snapshot` undefined: the server could not be
 * read; only `database_checks_up 0` is exported then.
 */
export function buildRegistry(
  spec: HealthSpec,
  snapshot?: Snapshot,
  results: readonly CheckResult[] = [],
  backups: readonly BackupStatus[] = [],
): Registry {
  const registry = new Registry();
  const up = gauge(
    registry,
    "database_checks_up",
    "1 when the checker could read the server as the monitoring role, else 0.",
    [],
  );
  up.set(snapshot ? 1 : 0);
  if (!snapshot) return registry;

  const size = gauge(
    registry,
    "postgres_database_size_bytes",
    "Size of each service database (pg_database_size), bytes.",
    ["database"],
  );
  const active = gauge(
    registry,
    "postgres_connections_active",
    "Open client connections to each service database, in any state (pg_stat_activity).",
    ["database"],
  );
  const gdprSchema = gauge(
    registry,
    "gdpr_schema_version",
    "Highest migration version applied to the GDPR schema (public.schema_migrations).",
    ["database"],
  );
  const schema = gauge(
    registry,
    "database_schema_version",
    "Highest migration version applied to each managed-schema service database (public.schema_migrations).",
    ["database"],
  );
  const check = gauge(
    registry,
    "database_check_status",
    "Result of each `make check` row: 1 PASS, 0 FAIL, -1 PENDING (a service that has not migrated yet).",
    ["check", "subject"],
  );
  const present = gauge(
    registry,
    "database_required_table_present",
    "1 when the required table (or one its migrations create) exists in schema public, else 0; absent while the service has not migrated yet.",
    ["database", "table"],
  );
  const roleConnections = gauge(
    registry,
    "postgres_role_connections",
    "Open client connections of each service login role, all databases.",
    ["role"],
  );
  const roleLimit = gauge(
    registry,
    "postgres_role_connection_limit",
    "Connection limit of each service login role (rolconnlimit; -1 = no limit).",
    ["role"],
  );

  const databases = new Map(snapshot.databases.map((d) => [d.name, d]));
  for (const svc of spec.services) {
    const db = databases.get(svc.database);
    if (!db) continue;
    if (db.sizeBytes !== undefined) size.set({ database: svc.database }, db.sizeBytes);
    const open = snapshot.connections
      .filter((c) => c.database === svc.database)
      .reduce((n, c) => n + c.count, 0);
    active.set({ database: svc.database }, open);

    const contents = snapshot.contents[svc.database];
    if (contents === undefined || "error" in contents) continue;
    if (svc.migrations !== undefined && contents.versionRows !== undefined) {
      const version = Math.max(0, ...contents.versionRows.map((r) => r.version));
      schema.set({ database: svc.database }, version);
      // The ADR's name is about the GDPR service's schema only.
      if (svc.service === ADR_MIGRATIONS_SERVICE) gdprSchema.set({ database: svc.database }, version);
    }
    const required = requiredTables(svc);
    const pending = results.some(
      (r) => r.check === "tables" && r.subject === svc.database && r.status === "PENDING",
    );
    if (required && !pending) {
      for (const table of required.tables) {
        present.set({ database: svc.database, table }, contents.tables.includes(table) ? 1 : 0);
      }
    }
  }

  for (const svc of spec.services) {
    const role = snapshot.roles.find((r) => r.name === svc.loginRole);
    if (!role) continue;
    roleLimit.set({ role: role.name }, role.connectionLimit);
    roleConnections.set(
      { role: role.name },
      snapshot.connections.filter((c) => c.role === role.name).reduce((n, c) => n + c.count, 0),
    );
  }

  const lastBackup = gauge(
    registry,
    "postgres_backup_last_success_timestamp_seconds",
    "When the newest complete backup of each service database (its manifest written) was taken, Unix seconds.",
    ["database"],
  );
  const maxAge = gauge(
    registry,
    "postgres_backup_max_age_seconds",
    "The age each database's last good backup may reach under its backup schedule, seconds.",
    ["database"],
  );
  for (const b of backups) {
    // A destination that could not be read says nothing: no series rather than a wrong one.
    if (b.error !== undefined) continue;
    maxAge.set({ database: b.database }, allowedBackupAgeSeconds(b.schedule));
    if (b.lastSuccess) lastBackup.set({ database: b.database }, b.lastSuccess.getTime() / 1000);
  }

  for (const r of results) check.set({ check: r.check, subject: r.subject }, STATUS_VALUE[r.status]);
  return registry;
}

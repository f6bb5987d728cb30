/**
 * The connection budget (docs/config.md#the-connection-budget): every chart
 * service's pool fits its role's limit, and every role's limit fits the
 * server's max_connections. Checked when the config is read, before any
 * resource is registered. Pure. OpenFGA's own rule is openfga-connections.ts.
 */
import {
  CONNECTION_HEADROOM,
  OPENFGA_DEFAULT_REPLICAS,
  openfgaBudgetRule,
  openfgaMinConnectionLimit,
} from "./openfga-connections";

/** Connections per application replica: the application's pool size (no chart key sets it). */
export const APP_POOL_SIZE = 10;
/** The application's HPA maximum the values write (`autoscaling.maxReplicas`) unless appMaxReplicas says otherwise. */
export const DEFAULT_APP_MAX_REPLICAS = 2;
/**
 * Keycloak replicas the pool (`KC_DB_POOL_MAX_SIZE`) is sized for: the
 * application chart's `keycloak.replicas`. A StatefulSet replaces its pods one
 * at a time, so a rollout runs no extra pod.
 */
export const KEYCLOAK_REPLICAS = 2;
/** Connection limit of each retention role (components/schema/retention-role.ts). */
export const RETENTION_CONNECTION_LIMIT = 2;
/** Connection limit of each backup role (components/database/backup-role.ts). */
export const BACKUP_CONNECTION_LIMIT = 2;
/** Connection limit of the monitoring role (components/observability/monitoring-role.ts). */
export const MONITORING_CONNECTION_LIMIT = 5;
/**
 * Connections kept outside every role's limit: the server's
 * superuser_reserved_connections (3 by default; the clouds' agents use them),
 * the admin's sessions (the postgresql provider, migrations, an operator's
 * psql) and slack for backends still exiting.
 */
export const DEFAULT_RESERVED_CONNECTIONS = 10;

/** Largest Keycloak pool (`KC_DB_POOL_MAX_SIZE`) per pod that fits the keycloak role's limit. */
export function keycloakPoolSize(connectionLimit: number): number {
  return Math.floor((connectionLimit - CONNECTION_HEADROOM) / KEYCLOAK_REPLICAS);
}

/** Connections the application's pools may hold at its HPA maximum, plus the headroom. */
export function appConnectionsNeeded(appMaxReplicas: number): number {
  return appMaxReplicas * APP_POOL_SIZE + CONNECTION_HEADROOM;
}

/** Where the server's max_connections came from, for messages: a key and its value. */
export interface MaxConnections {
  value: number;
  /** e.g. `maxConnections`, `databaseFlags max_connections`, `gcpTier "db-custom-1-3840"`, `the server at 127.0.0.1:55433`. */
  source: string;
}

export interface BudgetInput {
  /** Each service's login role limit, and the key that set it. */
  services: { name: string; connectionLimit: number; key: "connectionLimit" | "connectionLimits" }[];
  /** Retention roles (one per managed-schema service). */
  retentionRoles: number;
  /** Backup roles (one per service database). @default 0 */
  backupRoles?: number;

  monitoring: boolean;
  reservedConnections: number;
  appMaxReplicas: number;
  /** Unknown (e.g. a local server not reachable at preview): the server check is skipped. */
  maxConnections?: MaxConnections;
}

/** One refusal: the key to change and the message with the numbers. */
export interface BudgetProblem {
  key: string;
  message: string;
}

/** Every misfit of the budget, empty when it fits. Pure. */
export function connectionBudgetProblems(input: BudgetInput): BudgetProblem[] {
  const problems: BudgetProblem[] = [];
  const limit = (name: string) => input.services.find((s) => s.name === name);

  const gdpr = limit("gdpr");
  if (gdpr) {
    const needed = appConnectionsNeeded(input.appMaxReplicas);
    if (needed > gdpr.connectionLimit) {
      const fits = Math.floor((gdpr.connectionLimit - CONNECTION_HEADROOM) / APP_POOL_SIZE);
      problems.push({
        key: "appMaxReplicas",
        message:
          `${input.appMaxReplicas} does not fit gdpr's connection limit ${gdpr.connectionLimit} (${gdpr.key}): ` +
          `the application's pools need ${input.appMaxReplicas} replicas × ${APP_POOL_SIZE} connections + ` +
          `${CONNECTION_HEADROOM} held back = ${needed}; raise connectionLimits gdpr=${needed}` +
          (fits >= 1 ? ` or lower appMaxReplicas to ${fits}` : ""),
      });
    }
  }
  const openfga = limit("openfga");
  const openfgaMin = openfgaMinConnectionLimit(OPENFGA_DEFAULT_REPLICAS);
  if (openfga && openfga.connectionLimit < openfgaMin) {
    problems.push({
      key: openfga.key,
      message:
        `${openfga.connectionLimit} is too small for openfga's ${OPENFGA_DEFAULT_REPLICAS} replicas: ` +
        openfgaBudgetRule(OPENFGA_DEFAULT_REPLICAS),
    });
  }
  const keycloak = limit("keycloak");
  const keycloakMin = KEYCLOAK_REPLICAS + CONNECTION_HEADROOM;
  if (keycloak && keycloak.connectionLimit < keycloakMin) {
    problems.push({
      key: keycloak.key,
      message:
        `${keycloak.connectionLimit} is too small for keycloak's ${KEYCLOAK_REPLICAS} replicas: ` +
        `${CONNECTION_HEADROOM} connections are held back and each pod needs at least one, so it ` +
        `must be at least ${keycloakMin}`,
    });
  }

  const max = input.maxConnections;
  if (max) {
    const services = input.services.reduce((sum, s) => sum + s.connectionLimit, 0);
    const retention = input.retentionRoles * RETENTION_CONNECTION_LIMIT;
    const backup = (input.backupRoles ?? 0) * BACKUP_CONNECTION_LIMIT;
    const monitoring = input.monitoring ? MONITORING_CONNECTION_LIMIT : 0;
    const total = services + retention + backup + monitoring + input.reservedConnections;
    if (total > max.value) {
      problems.push({
        key: "connectionLimit",
        message:
          `the roles' limits do not fit the server's max_connections ${max.value} (${max.source}): ` +
          `services ${services} (${input.services.map((s) => `${s.name} ${s.connectionLimit}`).join(", ")})` +
          ` + retention ${retention}${backup > 0 ? ` + backup ${backup}` : ""} + monitoring ${monitoring} + reservedConnections ${input.reservedConnections}` +
          ` = ${total}; lower connectionLimit / connectionLimits or reservedConnections, or raise max_connections` +
          ` (maxConnections, a max_connections database flag, or a bigger instance)`,
      });
    }
  }
  return problems;
}

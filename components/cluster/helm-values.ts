/**
 * The Helm values that point the application chart (mcp-server-langgraph) and
 * its `openfga` and `keycloak` subcharts at the stack's databases, as a pure
 * function of plain stack outputs (no Pulumi resource, no Output).
 *
 * The values never hold a password or a URI: they name the Kubernetes Secrets
 * (naming.ts `secretName`, keys in `SECRET_KEYS`) that DatabaseSecrets fills.
 * The renderer takes no password at all, so it cannot leak one.
 *
 * Key order is fixed by construction (objects are built literally, in the
 * order below), so the YAML written from it is stable and diffable.
 *
 * Services other than gdpr (the application), openfga and keycloak have no
 * consumer in the chart: each gets a generic entry under `platformDatabases`
 * (host, port, database, username, sslMode and the Secret that holds the
 * conventional keys, secret-data.ts), for whatever chart or manifest deploys
 * that service to read. The chart ignores the key.
 */
import {
  MAX_IDENTIFIER_BYTES,
  SECRET_KEYS,
  databaseName,
  validateEnvironment,
  validateServiceName,
} from "../naming";
import {
  CONNECTION_HEADROOM,
  DEFAULT_APP_MAX_REPLICAS,
  OPENFGA_DEFAULT_REPLICAS,
  keycloakPoolSize,
  openfgaBudgetRule,
  openfgaMinConnectionLimit,
  rolloutPods,
} from "../config/connection-budget";
import type { Endpoint } from "../server/connection";

export type { Endpoint } from "../server/connection";
export {
  CONNECTION_HEADROOM,
  OPENFGA_DEFAULT_REPLICAS,
  openfgaBudgetRule,
  openfgaMinConnectionLimit,
} from "../config/connection-budget";

/** The chart's consumer of each service's database. */
export const CHART_CONSUMERS = {
  gdpr: "application (postgresql.external)",
  openfga: "openfga subchart (openfga.datastore)",
  keycloak: "keycloak subchart (keycloak.externalDatabase)",
} as const;
export type ChartService = keyof typeof CHART_CONSUMERS;

export function isChartService(service: string): service is ChartService {
  return Object.prototype.hasOwnProperty.call(CHART_CONSUMERS, service);
}

/**
 * The sslmodes the application chart's `postgresql.external.sslMode` accepts
 * (libpq's). The stack config narrows them further (config/types.ts SSL_MODES).
 */
export const CHART_SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;

/** Where the Cloud SQL Auth Proxy sidecar listens in the application pod. */
export const CLOUD_SQL_PROXY = { host: "127.0.0.1", port: 5432 } as const;

export class HelmValuesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HelmValuesError";
  }
}

export interface HelmServiceInput {
  /** Database name for the stack's environment (`gdpr`, or `gdpr_test` in test). */
  database: string;
  /** The service's LOGIN role. */
  user: string;
  /** The Kubernetes Secret holding the credentials (naming.ts `secretName`). */
  secretName: string;
  /** The login role's CONNECTION LIMIT. */
  connectionLimit: number;
}

export interface HelmValuesInput {
  /** ADR-0060 environment: dev, test, staging, prod. */
  environment: string;
  /**
   * Host the cluster's pods reach the server on: the local server's address,
   * the RDS endpoint, or the Cloud SQL instance's private IP (openfga and
   * keycloak connect to it directly; the application goes through its proxy).
   */
  host: string;
  /** Server port. */
  port: number;
  /** libpq sslmode of direct connections (CHART_SSL_MODES). */
  sslmode: string;
  /**
   * `project:region:instance` of a Cloud SQL instance. When set, the
   * application connects through the chart's cloud-sql-proxy sidecar.
   * @default undefined (no proxy)
   */
  cloudSqlInstanceConnectionName?: string;
  /** By service name: gdpr, openfga and keycloak for the chart, any other under `platformDatabases`. */
  services: Record<string, HelmServiceInput>;
  /**
   * OpenFGA replicas the pool size is computed for.
   * @default 3 (the subchart's replicaCount)
   */
  openfgaReplicas?: number;
  /**
   * The application's HPA maximum (`autoscaling.maxReplicas`); the config
   * check (connection-budget.ts) keeps its pools inside gdpr's limit.
   * @default 2 (DEFAULT_APP_MAX_REPLICAS)
   */
  appMaxReplicas?: number;
}

export interface ApplicationValues {
  postgresql: {
    enabled: false;
    external: {
      host: string;
      port: number;
      database: string;
      username: string;
      existingSecret: string;
      existingSecretPasswordKey: string;
      sslMode: string;
      cloud?: { cloudSql: { enabled: true; instanceConnectionName: string } };
    };
  };
  config: { gdprStorageBackend: "postgres" };
}

export interface OpenfgaValues {
  postgresql: { enabled: false };
  datastore: {
    engine: "postgres";
    uriSecret: string;
    applyMigrations: true;
    /**
     * `initContainer`: each pod runs `openfga migrate` before its server
     * starts. The subchart's default, `job`, is a post-install/post-upgrade
     * hook that the server pods wait for, which deadlocks `helm --wait`,
     * `--atomic` and Argo CD (the hook runs only once the release is ready).
     */
    migrationType: "initContainer";
    maxOpenConns: number;
  };
}

export interface KeycloakValues {
  postgresql: { enabled: false };
  externalDatabase: {
    host: string;
    port: number;
    database: string;
    user: string;
    existingSecret: string;
    existingSecretUserKey: string;
    existingSecretPasswordKey: string;
    extraParams?: string;
  };
  /** `KC_DB_POOL_MAX_SIZE`: Keycloak's pool per pod (its default, 100, would not fit the role's limit). */
  extraEnvVars: { name: "KC_DB_POOL_MAX_SIZE"; value: string }[];
}

/** A service the chart does not consume: where it connects and the Secret with its credentials. */
export interface GenericDatabaseValues {
  host: string;
  port: number;
  database: string;
  username: string;
  sslMode: string;
  /** The Secret (keys: GENERIC_SECRET_KEYS in secret-data.ts). */
  existingSecret: string;
}

export interface HelmValues {
  postgresql?: ApplicationValues["postgresql"];
  config?: ApplicationValues["config"];
  /** The application's HPA maximum, sized to gdpr's connection limit. */
  autoscaling?: { maxReplicas: number };
  openfga?: OpenfgaValues;
  keycloak?: KeycloakValues;
  /** Every other service, by name, in the order configured. */
  platformDatabases?: Record<string, GenericDatabaseValues>;
}

const POSTGRES_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** A DNS-1123 subdomain: what Kubernetes accepts as a Secret name. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** `project:region:instance`, the project optionally domain-scoped (`example.com:project`). */
const CLOUD_SQL_CONNECTION_NAME = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]*:[a-z0-9-]+:[a-z0-9][a-z0-9-]*$/;

/**
 * Largest `datastore.maxOpenConns` per OpenFGA pod that keeps every pod of a
 * rolling update inside the role's connection limit, less CONNECTION_HEADROOM.
 * During a rollout Kubernetes runs `replicas + ceil(25% × replicas)` pods (the
 * default maxSurge), each with its own pool; each new pod first migrates
 * (one connection, before its pool opens: connection-budget.ts). Throws when
 * that leaves less than one connection per pod.
 */
export function openfgaMaxOpenConns(connectionLimit: number, replicas: number): number {
  const min = openfgaMinConnectionLimit(replicas);
  if (connectionLimit < min) {
    throw new HelmValuesError(
      `services.openfga.connectionLimit ${connectionLimit} is too small for ${replicas} OpenFGA replicas: ` +
        openfgaBudgetRule(replicas),
    );
  }
  return Math.floor((connectionLimit - CONNECTION_HEADROOM) / rolloutPods(replicas));
}

function check(input: HelmValuesInput): void {
  validateEnvironment(input.environment);
  if (typeof input.host !== "string" || input.host === "" || /\s/.test(input.host)) {
    throw new HelmValuesError(`host ${JSON.stringify(input.host)} is not a host name or address`);
  }
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) {
    throw new HelmValuesError(`port ${JSON.stringify(input.port)} is not a port number (1..65535)`);
  }
  if (!(CHART_SSL_MODES as readonly string[]).includes(input.sslmode)) {
    throw new HelmValuesError(
      `sslmode ${JSON.stringify(input.sslmode)} is not one of ${CHART_SSL_MODES.join(", ")}`,
    );
  }
  const conn = input.cloudSqlInstanceConnectionName;
  if (conn !== undefined) {
    if (!CLOUD_SQL_CONNECTION_NAME.test(conn)) {
      throw new HelmValuesError(
        `cloudSqlInstanceConnectionName ${JSON.stringify(conn)} is not of the form project:region:instance`,
      );
    }
    if (input.sslmode === "disable") {
      throw new HelmValuesError(
        `sslmode "disable" is refused with Cloud SQL: openfga and keycloak connect to the instance directly`,
      );
    }
  }
  for (const [service, svc] of Object.entries(input.services)) {
    validateServiceName(service);
    const key = `services.${service}`;
    const expected = databaseName(service, input.environment);
    if (svc.database !== expected) {
      throw new HelmValuesError(
        `${key}.database ${JSON.stringify(svc.database)} does not follow ADR-0060 for environment ` +
          `"${input.environment}" (expected "${expected}")`,
      );
    }
    if (!POSTGRES_IDENTIFIER.test(svc.user) || Buffer.byteLength(svc.user) > MAX_IDENTIFIER_BYTES) {
      throw new HelmValuesError(`${key}.user ${JSON.stringify(svc.user)} is not a PostgreSQL role name`);
    }
    if (!DNS_SUBDOMAIN.test(svc.secretName) || svc.secretName.length > 253) {
      throw new HelmValuesError(
        `${key}.secretName ${JSON.stringify(svc.secretName)} is not a Kubernetes Secret name (DNS-1123 subdomain)`,
      );
    }
    if (!Number.isInteger(svc.connectionLimit) || svc.connectionLimit < 1) {
      throw new HelmValuesError(
        `${key}.connectionLimit ${JSON.stringify(svc.connectionLimit)} is not a positive integer`,
      );
    }
  }
}

/**
 * Host, port and sslmode each chart consumer connects with. With Cloud SQL the
 * application talks to its proxy sidecar on 127.0.0.1:5432 in plain text (the
 * proxy encrypts to the instance and does not accept TLS locally); openfga and
 * keycloak, which have no proxy, connect to `host` with `sslmode`. The Secrets'
 * URLs use the same endpoints, so values and Secrets cannot disagree.
 */
export function clusterEndpoints(input: HelmValuesInput): Record<ChartService, Endpoint> {
  return {
    gdpr: clusterEndpoint(input, "gdpr"),
    openfga: clusterEndpoint(input, "openfga"),
    keycloak: clusterEndpoint(input, "keycloak"),
  };
}

/**
 * The endpoint of one service's pods: the application (gdpr) goes through
 * the Cloud SQL proxy sidecar when there is one; every other service, having
 * no proxy, connects to `host` directly with `sslmode`.
 */
export function clusterEndpoint(input: Omit<HelmValuesInput, "services">, service: string): Endpoint {
  if (service === "gdpr" && input.cloudSqlInstanceConnectionName) {
    return { host: CLOUD_SQL_PROXY.host, port: CLOUD_SQL_PROXY.port, sslmode: "disable" };
  }
  return { host: input.host, port: input.port, sslmode: input.sslmode };
}

/**
 * The values for the chart, validated. Throws a HelmValuesError naming the
 * input key and value when an input is wrong.
 */
export function renderHelmValues(input: HelmValuesInput): HelmValues {
  check(input);
  const endpoints = clusterEndpoints(input);
  const values: HelmValues = {};

  const gdpr = input.services.gdpr;
  if (gdpr) {
    const ep = endpoints.gdpr;
    values.postgresql = {
      enabled: false,
      external: {
        host: ep.host,
        port: ep.port,
        database: gdpr.database,
        username: gdpr.user,
        existingSecret: gdpr.secretName,
        existingSecretPasswordKey: SECRET_KEYS.gdpr.password,
        sslMode: ep.sslmode,
      },
    };
    if (input.cloudSqlInstanceConnectionName) {
      values.postgresql.external.cloud = {
        cloudSql: { enabled: true, instanceConnectionName: input.cloudSqlInstanceConnectionName },
      };
    }
    values.config = { gdprStorageBackend: "postgres" };
    values.autoscaling = { maxReplicas: input.appMaxReplicas ?? DEFAULT_APP_MAX_REPLICAS };
  }

  const openfga = input.services.openfga;
  if (openfga) {
    values.openfga = {
      postgresql: { enabled: false },
      datastore: {
        engine: "postgres",
        uriSecret: openfga.secretName,
        applyMigrations: true,
        migrationType: "initContainer",
        maxOpenConns: openfgaMaxOpenConns(
          openfga.connectionLimit,
          input.openfgaReplicas ?? OPENFGA_DEFAULT_REPLICAS,
        ),
      },
    };
  }

  const keycloak = input.services.keycloak;
  if (keycloak) {
    const ep = endpoints.keycloak;
    values.keycloak = {
      postgresql: { enabled: false },
      externalDatabase: {
        host: ep.host,
        port: ep.port,
        database: keycloak.database,
        user: keycloak.user,
        existingSecret: keycloak.secretName,
        existingSecretUserKey: SECRET_KEYS.keycloak.user,
        existingSecretPasswordKey: SECRET_KEYS.keycloak.password,
      },
      extraEnvVars: [
        { name: "KC_DB_POOL_MAX_SIZE", value: String(keycloakPoolSize(keycloak.connectionLimit)) },
      ],
    };
    // The chart builds KC_DB_URL as jdbc:postgresql://host:port/database?currentSchema=public
    // and appends `&<extraParams>` itself, so this is one bare parameter.
    if (ep.sslmode !== "disable") values.keycloak.externalDatabase.extraParams = `sslmode=${ep.sslmode}`;
  }

  const others = Object.entries(input.services).filter(([service]) => !isChartService(service));
  if (others.length > 0) {
    values.platformDatabases = Object.fromEntries(
      others.map(([service, svc]) => {
        const ep = clusterEndpoint(input, service);
        return [
          service,
          {
            host: ep.host,
            port: ep.port,
            database: svc.database,
            username: svc.user,
            sslMode: ep.sslmode,
            existingSecret: svc.secretName,
          },
        ];
      }),
    );
  }

  return values;
}

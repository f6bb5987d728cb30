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
 * (generic-values.ts), for whatever chart or manifest deploys that service to
 * read. The chart ignores the key.
 *
 * The input, its validation and each service's endpoint are in
 * cluster-endpoints.ts. With an IAM login (docs/iam.md) the application's
 * values name its IAM user and no password key; the post-renderer adds
 * `--auto-iam-authn` to its proxy sidecar (application-env.ts).
 */
import { SECRET_KEYS } from "../naming";
import { DEFAULT_APP_MAX_REPLICAS, keycloakPoolSize } from "../config/connection-budget";
import {
  CONNECTION_HEADROOM,
  OPENFGA_DEFAULT_REPLICAS,
  openfgaBudgetRule,
  openfgaMinConnectionLimit,
  rolloutPods,
} from "../config/openfga-connections";
import type { Endpoint } from "../server/connection";
import { checkHelmInput, clusterEndpoint, HelmValuesError, HelmValuesInput } from "./cluster-endpoints";
import { GenericDatabaseValues, genericDatabaseValues } from "./generic-values";

export type { Endpoint } from "../server/connection";
export {
  CONNECTION_HEADROOM,
  OPENFGA_DEFAULT_REPLICAS,
  openfgaBudgetRule,
  openfgaMinConnectionLimit,
} from "../config/openfga-connections";
export {
  CHART_SSL_MODES,
  CLOUD_SQL_PROXY,
  clusterEndpoint,
  HelmValuesError,
  iamLoginRoute,
} from "./cluster-endpoints";
export type { HelmServiceInput, HelmValuesInput, IamLoginRoute } from "./cluster-endpoints";
export type { GenericDatabaseValues } from "./generic-values";

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

export interface ApplicationValues {
  postgresql: {
    enabled: false;
    external: {
      host: string;
      port: number;
      database: string;
      /** The active login user, or the IAM user with an IAM login. */
      username: string;
      existingSecret: string;
      /** Absent with an IAM login: its Secret holds no password. */
      existingSecretPasswordKey?: string;
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

/** The endpoint of each chart consumer's pods (cluster-endpoints.ts clusterEndpoint). */
export function clusterEndpoints(input: HelmValuesInput): Record<ChartService, Endpoint> {
  return {
    gdpr: clusterEndpoint(input, "gdpr"),
    openfga: clusterEndpoint(input, "openfga"),
    keycloak: clusterEndpoint(input, "keycloak"),
  };
}

/**
 * The values for the chart, validated. Throws a HelmValuesError naming the
 * input key and value when an input is wrong.
 */
export function renderHelmValues(input: HelmValuesInput): HelmValues {
  checkHelmInput(input);
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
        username: gdpr.iamUser ?? gdpr.user,
        existingSecret: gdpr.secretName,
        ...(gdpr.iamUser === undefined ? { existingSecretPasswordKey: SECRET_KEYS.gdpr.password } : {}),
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

  const others = Object.keys(input.services).filter((service) => !isChartService(service));
  if (others.length > 0) {
    values.platformDatabases = Object.fromEntries(
      others.map((service) => [service, genericDatabaseValues(input, service)]),
    );
  }

  return values;
}

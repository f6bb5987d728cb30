/**
 * What the Helm values, the Secrets and the generic values entries are
 * rendered from (`HelmValuesInput`), its validation, and where each service's
 * pods connect (`clusterEndpoint`): direct to the server, or through a Cloud
 * SQL Auth Proxy beside them. Pure.
 *
 * A service with an IAM login (config iamLogins, docs/iam.md; `iamUser`
 * below) logs in with no password: on Cloud SQL through an Auth Proxy with
 * `--auto-iam-authn` (the application's sidecar, or one that whatever deploys
 * the service runs), on RDS with a token its client signs per connection,
 * over TLS. Services whose consumer cannot do either are refused here as in
 * the config (config/iam-config.ts iamRefusal).
 */
import { MAX_IDENTIFIER_BYTES, databaseName, validateEnvironment, validateServiceName } from "../naming";
import { iamRefusal } from "../config/iam-config";
import type { Endpoint } from "../server/connection";

/**
 * The sslmodes the application chart's `postgresql.external.sslMode` accepts
 * (libpq's). The stack config narrows them further (config/types.ts SSL_MODES).
 */
export const CHART_SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;

/** Where the Cloud SQL Auth Proxy listens beside a service's pods (the chart's sidecar: `--port=5432`). */
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
  /**
   * The database user of the service's IAM login (config iamLogins): its
   * consumer logs in as this user with no password, and its Secret holds none.
   * @default undefined (the password login `user`)
   */
  iamUser?: string;
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
  /**
   * The RDS instance's region: an IAM login's client signs its tokens for it.
   * @default undefined (not RDS)
   */
  awsRegion?: string;
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

/** How an IAM login connects: through a Cloud SQL Auth Proxy with `--auto-iam-authn`, or with RDS tokens. */
export type IamLoginRoute = "cloud-sql-proxy" | "rds-iam";

const POSTGRES_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** An IAM login's user: `{role}_iam` on RDS, `name@project.iam` on Cloud SQL (quoted in SQL). */
const IAM_USER = /^[a-z0-9_][a-z0-9_@.-]*$/;
/** A DNS-1123 subdomain: what Kubernetes accepts as a Secret name. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** `project:region:instance`, the project optionally domain-scoped (`example.com:project`). */
const CLOUD_SQL_CONNECTION_NAME = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]*:[a-z0-9-]+:[a-z0-9][a-z0-9-]*$/;
/** An AWS region, e.g. `eu-central-1`, `us-gov-west-1`. */
const AWS_REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

/** The route of a service's IAM login, or undefined when it logs in with its password. */
export function iamLoginRoute(input: HelmValuesInput, service: string): IamLoginRoute | undefined {
  if (input.services[service]?.iamUser === undefined) return undefined;
  return input.cloudSqlInstanceConnectionName ? "cloud-sql-proxy" : "rds-iam";
}

/** Throws a HelmValuesError naming the input key and value when an input is wrong. */
export function checkHelmInput(input: HelmValuesInput): void {
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
  if (input.awsRegion !== undefined) {
    if (!AWS_REGION.test(input.awsRegion)) {
      throw new HelmValuesError(`awsRegion ${JSON.stringify(input.awsRegion)} is not an AWS region`);
    }
    if (conn !== undefined) {
      throw new HelmValuesError(`awsRegion and cloudSqlInstanceConnectionName are both set: one server only`);
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
    if (svc.iamUser !== undefined) checkIamUser(input, service, svc.iamUser);
  }
}

/** An IAM login needs a cloud, a consumer that can use it, and (RDS) TLS. */
function checkIamUser(input: HelmValuesInput, service: string, user: string): void {
  const key = `services.${service}.iamUser`;
  if (!IAM_USER.test(user) || Buffer.byteLength(user) > MAX_IDENTIFIER_BYTES) {
    throw new HelmValuesError(`${key} ${JSON.stringify(user)} is not a database user name`);
  }
  const cloud = input.cloudSqlInstanceConnectionName ? "gcp" : input.awsRegion ? "aws" : undefined;
  if (cloud === undefined) {
    throw new HelmValuesError(
      `${key} ${JSON.stringify(user)}: an IAM login needs a Cloud SQL instance (cloudSqlInstanceConnectionName) ` +
        `or an RDS region (awsRegion)`,
    );
  }
  const refusal = iamRefusal(cloud, service);
  if (refusal !== undefined) {
    throw new HelmValuesError(
      `${key} ${JSON.stringify(user)}: ${service} cannot log in with IAM on ${cloud}: ${refusal}`,
    );
  }
  if (cloud === "aws" && input.sslmode === "disable") {
    throw new HelmValuesError(
      `sslmode "disable" is refused with an RDS IAM login (${key}): RDS accepts IAM tokens over TLS only`,
    );
  }
}

/**
 * The endpoint of one service's pods. Through a Cloud SQL Auth Proxy on
 * 127.0.0.1:5432 in plain text (the proxy encrypts to the instance and does
 * not accept TLS locally): the application (gdpr) with Cloud SQL, and any
 * service whose IAM login goes through a proxy. Every other service, having
 * no proxy, connects to `host` directly with `sslmode`. The Secrets' URLs use
 * the same endpoints, so values and Secrets cannot disagree.
 */
export function clusterEndpoint(input: HelmValuesInput, service: string): Endpoint {
  const viaProxy =
    Boolean(input.cloudSqlInstanceConnectionName) &&
    (service === "gdpr" || iamLoginRoute(input, service) === "cloud-sql-proxy");
  if (viaProxy) return { host: CLOUD_SQL_PROXY.host, port: CLOUD_SQL_PROXY.port, sslmode: "disable" };
  return { host: input.host, port: input.port, sslmode: input.sslmode };
}

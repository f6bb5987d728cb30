/**
 * The values entry of a service the chart does not consume
 * (`platformDatabases.<service>`): where it connects and the Secret with its
 * credentials (keys: secret-data.ts GENERIC_SECRET_KEYS), for whatever chart
 * or manifest deploys it to read. The chart ignores the key. Pure.
 *
 * With an IAM login (config iamLogins, docs/iam.md) the entry names the IAM
 * user, its Secret holds no password, and it says how to connect:
 * - Cloud SQL: `cloudSqlProxy` (run a Cloud SQL Auth Proxy beside the service
 *   with `--auto-iam-authn` for that instance; host and port are the proxy's);
 * - RDS: `rdsIam` (sign a token for that region per connection and give it as
 *   the password, over TLS: sslMode is the stack's, never `disable`).
 */
import { clusterEndpoint, HelmValuesInput, iamLoginRoute } from "./cluster-endpoints";

/** A service the chart does not consume: where it connects and the Secret with its credentials. */
export interface GenericDatabaseValues {
  host: string;
  port: number;
  database: string;
  /** The password login user, or the IAM user with an IAM login. */
  username: string;
  sslMode: string;
  /** The Secret (keys: GENERIC_SECRET_KEYS in secret-data.ts; GENERIC_IAM_SECRET_KEYS with an IAM login). */
  existingSecret: string;
  /** IAM login through a Cloud SQL Auth Proxy the service's pods run (host and port above are the proxy's). */
  cloudSqlProxy?: { instanceConnectionName: string; autoIamAuthn: true };
  /** IAM login on RDS: a token signed for this region (rds-db:connect) is the password of each connection. */
  rdsIam?: { region: string };
}

/** The `platformDatabases` entry of `service` (validated input: helm-values.ts renderHelmValues). */
export function genericDatabaseValues(input: HelmValuesInput, service: string): GenericDatabaseValues {
  const svc = input.services[service];
  const ep = clusterEndpoint(input, service);
  const values: GenericDatabaseValues = {
    host: ep.host,
    port: ep.port,
    database: svc.database,
    username: svc.iamUser ?? svc.user,
    sslMode: ep.sslmode,
    existingSecret: svc.secretName,
  };
  const route = iamLoginRoute(input, service);
  if (route === "cloud-sql-proxy") {
    values.cloudSqlProxy = {
      instanceConnectionName: input.cloudSqlInstanceConnectionName as string,
      autoIamAuthn: true,
    };
  } else if (route === "rds-iam") {
    values.rdsIam = { region: input.awsRegion as string };
  }
  return values;
}

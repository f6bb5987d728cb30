/**
 * What each service's Kubernetes Secret holds. Pure; the caller wraps the
 * result in a Pulumi secret.
 *
 * The chart's three consumers get exactly the keys their charts read
 * (naming.ts SECRET_KEYS): the application's password and GDPR_POSTGRES_URL,
 * OpenFGA's `uri`, Keycloak's `db-user` and `db-password`. Any other service
 * gets the conventional keys of CloudNativePG's application Secret
 * (GENERIC_SECRET_KEYS), so whatever deploys it can pick the form it needs.
 * Passwords in URLs are URL-encoded (connection.ts).
 *
 * A service that logs in with IAM (config iamLogins, docs/iam.md) gets
 * `iamSecretStringData`: the same keys less every password (gdpr: its user
 * and a URL without a password; any other service: GENERIC_SECRET_KEYS less
 * `password`, its URIs without one). OpenFGA and Keycloak have no IAM login.
 */
import { SECRET_KEYS } from "../naming";
import { ConnectionParts, jdbcUrl, PasswordlessParts, postgresUri } from "../server/connection";

/**
 * Annotations of every Secret the program writes. The program is the
 * authority on their data: `pulumi up` takes back a field someone changed by
 * hand (kubectl edit, a patch) instead of failing with a server-side apply
 * field conflict, so a refresh-and-up repairs the drift.
 */
export const OWNED_SECRET_ANNOTATIONS: Readonly<Record<string, string>> = { "pulumi.com/patchForce": "true" };

/** The keys of a Secret of a service the chart does not consume. */
export const GENERIC_SECRET_KEYS = [
  "host",
  "port",
  "database",
  "username",
  "password",
  "uri",
  "jdbc-uri",
] as const;

export function secretStringData(service: string, c: ConnectionParts): Record<string, string> {
  switch (service) {
    case "gdpr":
      return {
        [SECRET_KEYS.gdpr.password]: c.password,
        [SECRET_KEYS.gdpr.url]: postgresUri(c),
      };
    case "openfga":
      return { [SECRET_KEYS.openfga.uri]: postgresUri(c, "postgres") };
    case "keycloak":
      return {
        [SECRET_KEYS.keycloak.user]: c.user,
        [SECRET_KEYS.keycloak.password]: c.password,
      };
    default: {
      const data: Record<(typeof GENERIC_SECRET_KEYS)[number], string> = {
        host: c.host,
        port: String(c.port),
        database: c.database,
        username: c.user,
        password: c.password,
        uri: postgresUri(c),
        "jdbc-uri": jdbcWithCredentials(c),
      };
      return data;
    }
  }
}

/** The keys of an IAM login's Secret of a service the chart does not consume: no password. */
export const GENERIC_IAM_SECRET_KEYS = GENERIC_SECRET_KEYS.filter(
  (k): k is GenericIamSecretKey => k !== "password",
);
type GenericIamSecretKey = Exclude<(typeof GENERIC_SECRET_KEYS)[number], "password">;

/**
 * The Secret of a service that logs in with IAM as `c.user`: no password
 * anywhere (its client brings a token per connection). Throws for OpenFGA
 * and Keycloak, which cannot log in with IAM (config iam-config.ts iamRefusal).
 */
export function iamSecretStringData(service: string, c: PasswordlessParts): Record<string, string> {
  switch (service) {
    case "gdpr":
      return { [SECRET_KEYS.gdpr.iamUser]: c.user, [SECRET_KEYS.gdpr.url]: postgresUri(c) };
    case "openfga":
    case "keycloak":
      throw new Error(`${service} has no IAM login: its Secret needs a password (docs/iam.md)`);
    default: {
      const data: Record<GenericIamSecretKey, string> = {
        host: c.host,
        port: String(c.port),
        database: c.database,
        username: c.user,
        uri: postgresUri(c),
        "jdbc-uri": jdbcWithUser(c),
      };
      return data;
    }
  }
}

/** The JDBC URL with the user as a parameter and no password (an IAM login's `jdbc-uri`). */
function jdbcWithUser(c: PasswordlessParts): string {
  const url = jdbcUrl(c);
  return `${url}${url.includes("?") ? "&" : "?"}user=${encodeURIComponent(c.user)}`;
}

/** CloudNativePG's `jdbc-uri`: the JDBC URL with user and password as parameters. */
function jdbcWithCredentials(c: ConnectionParts): string {
  const url = jdbcUrl(c);
  const credentials = `user=${encodeURIComponent(c.user)}&password=${encodeURIComponent(c.password)}`;
  return `${url}${url.includes("?") ? "&" : "?"}${credentials}`;
}

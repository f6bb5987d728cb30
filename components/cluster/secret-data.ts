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
 */
import { SECRET_KEYS } from "../naming";
import { ConnectionParts, jdbcUrl, postgresUri } from "../server/connection";

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

/** CloudNativePG's `jdbc-uri`: the JDBC URL with user and password as parameters. */
function jdbcWithCredentials(c: ConnectionParts): string {
  const url = jdbcUrl(c);
  const credentials = `user=${encodeURIComponent(c.user)}&password=${encodeURIComponent(c.password)}`;
  return `${url}${url.includes("?") ? "&" : "?"}${credentials}`;
}

/**
 * Connection strings, as pure functions. Passwords are URL-encoded; an IAM
 * login's strings have none (its client supplies a token per connection).
 */

/** Host, port and sslmode a client connects with (one consumer's pods, a CronJob). */
export interface Endpoint {
  host: string;
  port: number;
  sslmode: string;
}

export interface ConnectionParts {
  user: string;
  password: string;
  host: string;
  port: number;
  database: string;
  sslmode: string;
}

/** Where and as whom an IAM login connects: no password (the cloud's token stands in for it). */
export type PasswordlessParts = Omit<ConnectionParts, "password">;

/**
 * `postgresql://user:password@host:port/database?sslmode=…` (libpq, asyncpg,
 * OpenFGA); `postgresql://user@host:port/…` for an IAM login's parts.
 */
export function postgresUri(c: ConnectionParts | PasswordlessParts, scheme = "postgresql"): string {
  const user = encodeURIComponent(c.user);
  const auth = "password" in c ? `${user}:${encodeURIComponent(c.password)}` : user;
  const host = c.host.includes(":") ? `[${c.host}]` : c.host;
  const db = encodeURIComponent(c.database);
  return `${scheme}://${auth}@${host}:${c.port}/${db}?sslmode=${encodeURIComponent(c.sslmode)}`;
}

/** `jdbc:postgresql://host:port/database` (Keycloak's KC_DB_URL; credentials go separately). */
export function jdbcUrl(c: Omit<ConnectionParts, "user" | "password">): string {
  const host = c.host.includes(":") ? `[${c.host}]` : c.host;
  const ssl = c.sslmode === "disable" ? "" : `?sslmode=${encodeURIComponent(c.sslmode)}`;
  return `jdbc:postgresql://${host}:${c.port}/${encodeURIComponent(c.database)}${ssl}`;
}

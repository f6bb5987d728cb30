/** Connection strings, as pure functions. Passwords are URL-encoded. */

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

/** `postgresql://user:password@host:port/database?sslmode=…` (libpq, asyncpg, OpenFGA). */
export function postgresUri(c: ConnectionParts, scheme = "postgresql"): string {
  const user = encodeURIComponent(c.user);
  const password = encodeURIComponent(c.password);
  const host = c.host.includes(":") ? `[${c.host}]` : c.host;
  const db = encodeURIComponent(c.database);
  return `${scheme}://${user}:${password}@${host}:${c.port}/${db}?sslmode=${encodeURIComponent(c.sslmode)}`;
}

/** `jdbc:postgresql://host:port/database` (Keycloak's KC_DB_URL; credentials go separately). */
export function jdbcUrl(c: Omit<ConnectionParts, "user" | "password">): string {
  const host = c.host.includes(":") ? `[${c.host}]` : c.host;
  const ssl = c.sslmode === "disable" ? "" : `?sslmode=${encodeURIComponent(c.sslmode)}`;
  return `jdbc:postgresql://${host}:${c.port}/${encodeURIComponent(c.database)}${ssl}`;
}

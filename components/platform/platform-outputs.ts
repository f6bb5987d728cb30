/**
 * How DatabasePlatform turns per-service resources into its output maps
 * (keyed by service name), and the secret URIs it exports.
 */
import * as pulumi from "@pulumi/pulumi";
import { postgresUri } from "../server/connection";
import type { PostgresTarget } from "../server/postgres-target";

/** A role's URI to one database, as a Pulumi secret (it holds the password). */
export function secretUri(
  server: PostgresTarget,
  sslmode: string,
  user: pulumi.Input<string>,
  password: pulumi.Input<string>,
  database: pulumi.Input<string>,
): pulumi.Output<string> {
  return pulumi.secret(
    pulumi
      .all([user, password, server.host, server.port, database])
      .apply(([u, p, host, port, db]) =>
        postgresUri({ user: u, password: p, host, port, database: db, sslmode }),
      ),
  );
}

/** One output map keyed by service name from a list of per-service outputs. */
export function byName<T>(entries: [string, pulumi.Input<T>][]): pulumi.Output<Record<string, T>> {
  return pulumi
    .all(entries.map(([, value]) => value))
    .apply((values) => Object.fromEntries(entries.map(([name], i) => [name, values[i] as T])));
}

/** A helper role (retention, backup) of one service. */
export interface HelperRoleEntry {
  service: { name: string; database: string };
  role: { roleName: pulumi.Output<string>; password: pulumi.Output<string> };
}

/** Helper roles by service: their names, and their URIs to the service's database (a secret). */
export function helperRoleOutputs(
  server: PostgresTarget,
  sslmode: string,
  list: HelperRoleEntry[],
): { roles: pulumi.Output<Record<string, string>>; uris: pulumi.Output<Record<string, string>> } {
  return {
    roles: byName(list.map((r) => [r.service.name, r.role.roleName])),
    uris: pulumi.secret(
      byName(
        list.map((r) => [
          r.service.name,
          secretUri(server, sslmode, r.role.roleName, r.role.password, r.service.database),
        ]),
      ),
    ),
  };
}

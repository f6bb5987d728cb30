/**
 * How many connections OpenFGA's pools may hold: the rule the config check
 * (a connectionLimit too small for OpenFGA is refused before anything is
 * registered) and the Helm values (`datastore.maxOpenConns`) share. Pure.
 *
 * The values run OpenFGA's migrations with `migrationType: initContainer`
 * (helm-values.ts): each pod runs `openfga migrate` before its server starts.
 * The migration holds one connection (goose applies the files one after the
 * other on one connection) and has exited before the pod's pool opens, so a
 * pod never holds more than max(1, maxOpenConns) = maxOpenConns connections:
 * the migration fits inside each pod's share, and no connection is set aside
 * for a separate migration Job any more (the subchart's `job` mode ran one
 * beside the serving pods).
 */

/**
 * Connections of the openfga login role kept out of OpenFGA's pools: one for
 * an operator's psql session as the role, and one for a backend that is still
 * exiting (PostgreSQL counts it against the role's limit until it is gone,
 * e.g. a pod's migration connection while its server opens its pool).
 */
export const CONNECTION_HEADROOM = 2;

/** Connections `openfga migrate` holds at once (in each pod's init container). */
export const OPENFGA_MIGRATE_CONNECTIONS = 1;

/** The openfga subchart's default `replicaCount` (chart 0.2.49). */
export const OPENFGA_DEFAULT_REPLICAS = 3;

/** OpenFGA pods running at once during a rolling update (default maxSurge 25%, rounded up). */
export function rolloutPods(replicas: number): number {
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new RangeError(`openfgaReplicas ${JSON.stringify(replicas)} is not a positive integer`);
  }
  return replicas + Math.ceil(replicas * 0.25);
}

/**
 * The smallest connection limit that leaves every pod of a rollout the
 * connections its migration needs (and so at least one for its pool).
 */
export function openfgaMinConnectionLimit(replicas: number): number {
  return rolloutPods(replicas) * OPENFGA_MIGRATE_CONNECTIONS + CONNECTION_HEADROOM;
}

/** The rule behind openfgaMinConnectionLimit, for error messages. */
export function openfgaBudgetRule(replicas: number): string {
  return (
    `${CONNECTION_HEADROOM} connections are kept for admin sessions and exiting backends and ` +
    `${rolloutPods(replicas)} pods run during a rollout, each migrating before it serves, ` +
    `so it must be at least ${openfgaMinConnectionLimit(replicas)}`
  );
}

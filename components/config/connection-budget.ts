/**
 * How many connections OpenFGA's pools may hold: the rule the config check
 * (a connectionLimit too small for OpenFGA is refused before anything is
 * registered) and the Helm values (`datastore.maxOpenConns`) share. Pure.
 */

/**
 * Connections of the openfga login role kept out of OpenFGA's pools: one for
 * the `openfga migrate` Job (it runs with the same URI Secret while the old
 * pods still serve), one for an operator's psql session as the role, and one
 * for a backend that is still exiting (PostgreSQL counts it against the
 * role's limit until it is gone).
 */
export const CONNECTION_HEADROOM = 3;

/** The openfga subchart's default `replicaCount` (chart 0.2.49). */
export const OPENFGA_DEFAULT_REPLICAS = 3;

/** OpenFGA pods running at once during a rolling update (default maxSurge 25%, rounded up). */
export function rolloutPods(replicas: number): number {
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new RangeError(`openfgaReplicas ${JSON.stringify(replicas)} is not a positive integer`);
  }
  return replicas + Math.ceil(replicas * 0.25);
}

/** The smallest connection limit that leaves one connection per OpenFGA pod. */
export function openfgaMinConnectionLimit(replicas: number): number {
  return rolloutPods(replicas) + CONNECTION_HEADROOM;
}

/** The rule behind openfgaMinConnectionLimit, for error messages. */
export function openfgaBudgetRule(replicas: number): string {
  return (
    `${CONNECTION_HEADROOM} connections are kept for the migration job and admin sessions and ` +
    `${rolloutPods(replicas)} pods run during a rollout, so it must be at least ${openfgaMinConnectionLimit(replicas)}`
  );
}

/**
 * What scripts/stack-recover.ts decides, as pure functions (tested in
 * tests/stack-recover.test.ts; the real engine and server in tests/faults.test.ts).
 *
 * After the engine died in the middle of an update (SIGKILL, OOM, a runner
 * lost), the stack holds two leftovers:
 * - a lock file whose owner is gone (file backend: `.pulumi/locks/.../<stack>/<id>.json`
 *   with the owner's pid and host);
 * - pending operations: what the engine had started and not finished. A
 *   pending create may or may not exist on the server.
 */

/** A file backend's lock, as Pulumi writes it. */
export interface LockInfo {
  pid: number;
  hostname: string;
  username?: string;
  timestamp?: string;
}

export type LockVerdict =
  /** Its process is gone (same host): safe to release. */
  | "dead"
  /** Its process is a running pulumi on this host: an update is in progress. */
  | "live"
  /** Taken on another host: this host cannot tell. */
  | "foreign";

/** `isPulumi(pid)`: the pid is a running process whose program is the pulumi CLI. */
export function lockVerdict(lock: LockInfo, host: string, isPulumi: (pid: number) => boolean): LockVerdict {
  if (lock.hostname !== host) return "foreign";
  return Number.isInteger(lock.pid) && lock.pid > 0 && isPulumi(lock.pid) ? "live" : "dead";
}

/** One of the checkpoint's pending_operations (what is read here). */
export interface PendingOperation {
  type: string;
  resource: { urn: string; type: string; id?: string; inputs?: Record<string, unknown> };
}

export interface PendingPlan {
  /**
   * Pending creates of objects whose provider id is their name (roles,
   * databases): recorded with that id, then read back by a refresh, which
   * drops from the state those the server does not have (the next `up`
   * creates them); those it has are adopted, never created twice
   * (`database "x" already exists`).
   */
  imports: { urn: string; id: string }[];
  /**
   * Other pending creates: dropped from the state and created again by the
   * next `up`. Safe because creating them again is harmless: grants (GRANT is
   * idempotent), `public` schemas (IF NOT EXISTS), generated passwords (no
   * server object), migration runs (the runner applies only what its version
   * table lacks).
   */
  clears: string[];
  /** Pending updates and deletes: a refresh reads those resources back and settles them. */
  settles: string[];
}

/** Resource types whose provider id is the object's name, and where the name is. */
const ID_FROM_NAME: Record<string, (inputs: Record<string, unknown>) => unknown> = {
  "postgresql:index/role:Role": (i) => i.name,
  "postgresql:index/database:Database": (i) => i.name,
};

export function planPending(ops: readonly PendingOperation[]): PendingPlan {
  const plan: PendingPlan = { imports: [], clears: [], settles: [] };
  for (const op of ops) {
    const urn = op.resource.urn;
    if (op.type !== "creating") {
      plan.settles.push(urn);
      continue;
    }
    const id = ID_FROM_NAME[op.resource.type]?.(op.resource.inputs ?? {});
    if (typeof id === "string" && id !== "") plan.imports.push({ urn, id });
    else plan.clears.push(urn);
  }
  return plan;
}

/** The parts of a `pulumi stack export` document this module touches. */
export interface ExportedStack {
  deployment: {
    resources?: Record<string, unknown>[];
    pending_operations?: PendingOperation[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/**
 * The state to import before the settling refresh: each object to adopt
 * recorded as a resource with its id (appended: nothing recorded depends on a
 * resource whose create never finished), and no pending operation left (the
 * other creates are cleared; updates and deletes are settled by the refresh,
 * which reads their resources back). `pulumi refresh --import-pending-creates`
 * would be the engine's own way, but in the pinned engine (v3.276.0) it only
 * drops the operation: the resource never reaches the state (see
 * docs/operations.md).
 */
export function settledState(exported: ExportedStack, plan: PendingPlan): ExportedStack {
  const ops = exported.deployment.pending_operations ?? [];
  const adopted = plan.imports.map(({ urn, id }) => {
    const op = ops.find((o) => o.resource.urn === urn);
    if (!op) throw new Error(`no pending operation for ${urn}`);
    return { ...op.resource, id };
  });
  return {
    ...exported,
    deployment: {
      ...exported.deployment,
      resources: [...(exported.deployment.resources ?? []), ...adopted],
      pending_operations: [],
    },
  };
}

/** A plugin process the engine starts (provider, dynamic-provider host), by its command line. */
export function isEnginePlugin(argv: readonly string[]): boolean {
  return argv.some(
    (a) =>
      /(^|\/)pulumi-(resource|language|analyzer)-[^/]*$/.test(a) ||
      /@pulumi\/pulumi\/cmd\/(dynamic-provider|run-policy-pack)(\/index\.js)?$/.test(a),
  );
}

/** The pulumi CLI itself (argv[0]). */
export function isPulumiCli(argv: readonly string[]): boolean {
  return argv.length > 0 && /(^|\/)pulumi$/.test(argv[0]);
}

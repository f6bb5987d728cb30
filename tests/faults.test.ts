/**
 * Faults survived, with the real engine on a throwaway server provisioned by
 * the program (program-stack.ts), each made to happen at a known point:
 *
 * - a "gate": a superuser transaction holding `LOCK TABLE pg_database IN SHARE
 *   MODE`, which makes the provider's CREATE DATABASE wait (visible in
 *   pg_stat_activity) while everything else goes on; the test acts once the
 *   engine is stuck there, and opens the gate when it chooses;
 * - for migrations, a migration that waits while a role named fault_gate
 *   exists.
 *
 * Covered: the engine SIGKILLed mid-`up` (the next `up` releases the dead
 * process's lock, adopts or recreates what was pending, leaves no orphan);
 * two `up`s at once (the second refused by the state lock, nothing damaged);
 * the server restarted mid-`up` (a clear failure, the next `up` converges); the
 * connection lost mid-migration (nothing of it applied, the next run applies it
 * exactly once).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockFiles, orphanedPlugins } from "../scripts/stack-recover";
import { Finished, ProgramStack, Running, startProgramStack } from "./helpers/program-stack";

let stack: ProgramStack;
const BASE_SERVICES = ["gdpr", "openfga", "keycloak"];

beforeAll(async () => {
  stack = await startProgramStack();
}, 240_000);
afterAll(() => stack?.stop());

const stateDir = () => join(stack.root, ".local", "state");
const locks = () => lockFiles(stateDir(), stack.name);
function pendingOperations(): { type: string; resource: { type: string; urn: string } }[] {
  const file = join(stateDir(), ".pulumi", "stacks", "platform-databases", `${stack.name}.json`);
  return JSON.parse(readFileSync(file, "utf8")).checkpoint.latest.pending_operations ?? [];
}
const up = (...extra: string[]) =>
  stack.start("scripts/pulumi.sh", [stack.name, "up", "--yes", "--skip-preview", ...extra]);

/** Polls `condition` every 100 ms; fails when `running` ends first or after `ms`. */
async function waitFor(what: string, condition: () => Promise<boolean>, running?: Running, ms = 180_000) {
  let ended: Finished | undefined;
  void running?.done.then((f) => (ended = f));
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (ended)
      throw new Error(`the command ended (${ended.code}) before ${what}:\n${ended.output.slice(-3000)}`);
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function query<T = Record<string, unknown>>(
  sql: string,
  params: unknown[] = [],
  database = "postgres",
): Promise<T[]> {
  const c = await stack.superuser(database);
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Holds CREATE DATABASE back until release(). */
async function gateDatabases(): Promise<{ release: () => Promise<void> }> {
  const c: Client = await stack.superuser();
  c.on("error", () => undefined);
  await c.query("BEGIN");
  await c.query("LOCK TABLE pg_database IN SHARE MODE");
  return {
    release: async () => {
      await c.query("COMMIT").catch(() => undefined);
      await c.end().catch(() => undefined);
    },
  };
}

/** The engine stuck at the gate: a CREATE (or DROP, for a service the change removes) DATABASE waiting. */
const databaseDdlWaiting = async () =>
  (
    await query(
      "SELECT 1 FROM pg_stat_activity WHERE (query ILIKE 'CREATE DATABASE%' OR query ILIKE 'DROP DATABASE%') AND wait_event_type = 'Lock'",
    )
  ).length > 0;
const createDatabaseActive = async () =>
  (await query("SELECT 1 FROM pg_stat_activity WHERE query ILIKE 'CREATE DATABASE%' AND state = 'active'"))
    .length > 0;

async function catalog(prefix: string) {
  const dbs = await query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1",
    [`${prefix}%`],
  );
  const roles = await query<{ rolname: string }>(
    "SELECT rolname FROM pg_roles WHERE rolname LIKE $1 ORDER BY 1",
    [`${prefix}%`],
  );
  return { databases: dbs.map((r) => r.datname), roles: roles.map((r) => r.rolname) };
}

describe("faults on the real engine and server", () => {
  it("the engine SIGKILLed mid-up: the next up releases the dead lock, adopts or recreates what was pending, no orphans", async () => {
    stack.apply({ config: { services: [...BASE_SERVICES, "killa", "killb"] } });
    const gate = await gateDatabases();
    const first = up();
    let pid: number;
    try {
      await waitFor("CREATE DATABASE waiting at the gate", databaseDdlWaiting, first);
      const [lock] = locks();
      pid = JSON.parse(readFileSync(lock, "utf8")).pid;
      process.kill(pid, "SIGKILL");
      const killed = await first.done;
      expect(killed.code).not.toBe(0);
    } finally {
      await gate.release();
    }
    // The provider outlives its engine and finishes the CREATE DATABASE it had
    // started: created on the server, never recorded in the stack.
    await waitFor("the orphaned CREATE DATABASE to finish", async () => !(await createDatabaseActive()));
    expect(locks()).toHaveLength(1);
    const pending = pendingOperations();
    expect(
      pending.some((p) => p.type === "creating" && p.resource.type === "postgresql:index/database:Database"),
    ).toBe(true);

    // What `make up` runs; scripts/pulumi.sh settles the crash first, by itself.
    const next = await up("--refresh").done;
    expect(next.code, next.output).toBe(0);
    expect(next.output).toContain(`releasing the lock of pulumi pid ${pid}`);
    expect(next.output).toMatch(/pending operation\(s\) from an interrupted update/);
    expect(next.output).not.toContain("already exists");
    expect(locks()).toEqual([]);
    expect(pendingOperations()).toEqual([]);
    expect(orphanedPlugins(stack.root)).toEqual([]);
    expect(await catalog("kill")).toEqual({
      databases: ["killa_test", "killb_test"],
      roles: [
        "killa_test_app",
        "killa_test_app_a",
        "killa_test_app_b",
        "killa_test_backup",
        "killb_test_app",
        "killb_test_app_a",
        "killb_test_app_b",
        "killb_test_backup",
      ],
    });
    const again = await up("--expect-no-changes").done;
    expect(again.code, again.output).toBe(0);

    // No orphan: removing the services removes every object they had.
    await stack.up();
    expect(await catalog("kill")).toEqual({ databases: [], roles: [] });
  }, 600_000);

  it("two ups of one stack at once: the second is refused by the state lock, and nothing is damaged", async () => {
    stack.apply({ config: { services: [...BASE_SERVICES, "twice"] } });
    const gate = await gateDatabases();
    const first = up();
    let second: Finished;
    try {
      await waitFor(
        "the first up to hold the lock and wait at the gate",
        async () => locks().length === 1 && (await databaseDdlWaiting()),
        first,
      );
      second = await up().done;
    } finally {
      await gate.release();
    }
    expect(second.code).not.toBe(0);
    expect(second.output).toContain("the stack is currently locked by 1 lock(s)");
    // The recovery hook saw a live owner and left its lock alone.
    expect(second.output).toMatch(/is being updated by pulumi \(pid \d+\); its lock is left alone/);
    const done = await first.done;
    expect(done.code, done.output).toBe(0);
    expect(locks()).toEqual([]);
    expect(await catalog("twice")).toEqual({
      databases: ["twice_test"],
      roles: ["twice_test_app", "twice_test_app_a", "twice_test_app_b", "twice_test_backup"],
    });
    const again = await up("--expect-no-changes").done;
    expect(again.code, again.output).toBe(0);
  }, 600_000);

  // The tests below start from the previous one's services: each change replaces them.
  it("the server restarted mid-up: up fails saying so, the next up converges", async () => {
    stack.apply({ config: { services: [...BASE_SERVICES, "restarted"] } });
    const gate = await gateDatabases();
    const first = up();
    await waitFor("CREATE DATABASE waiting at the gate", databaseDdlWaiting, first);
    stack.server.restart("fast"); // ends every session, the gate's included
    await gate.release();
    const failed = await first.done;
    expect(failed.code).not.toBe(0);
    expect(failed.output).toMatch(
      /error \w+ database "(restarted|twice)_test": .*(terminating connection due to administrator command|the database system is shutting down|connection refused)/,
    );
    expect(failed.output).not.toContain("undefined");

    const next = await up("--refresh").done;
    expect(next.code, next.output).toBe(0);
    expect(pendingOperations()).toEqual([]);
    expect(await catalog("restarted")).toEqual({
      databases: ["restarted_test"],
      roles: ["restarted_test_app", "restarted_test_app_a", "restarted_test_app_b", "restarted_test_backup"],
    });
    const again = await up("--expect-no-changes").done;
    expect(again.code, again.output).toBe(0);
    await stack.up();
  }, 600_000);

  it("the connection lost mid-migration: nothing of it is applied, the next run applies it exactly once", async () => {
    const migration = {
      name: "001_ledger.sql",
      sql: [
        "CREATE TABLE entries (id integer PRIMARY KEY, note text NOT NULL);",
        "INSERT INTO entries VALUES (1, 'applied once');",
        "-- waits while the test's gate role exists",
        "DO $$ BEGIN WHILE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fault_gate') LOOP PERFORM pg_sleep(0.05); END LOOP; END $$;",
        "",
      ].join("\n"),
    };
    const change = {
      config: { services: [...BASE_SERVICES, "ledger"], managedSchemaServices: ["gdpr", "ledger"] },
      migrations: { ledger: [migration] },
    };
    await query("CREATE ROLE fault_gate NOLOGIN");
    try {
      stack.apply(change);
      const first = up();
      await waitFor(
        "the migration to run",
        async () =>
          (
            await query(
              "SELECT 1 FROM pg_stat_activity WHERE datname = 'ledger_test' AND query LIKE '%fault_gate%' AND pid <> pg_backend_pid()",
            )
          ).length > 0,
        first,
      );
      await query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'ledger_test' AND query LIKE '%fault_gate%' AND pid <> pg_backend_pid()",
      );
      const failed = await first.done;
      expect(failed.code).not.toBe(0);
      expect(failed.output).toMatch(/terminat|Connection terminated/i);
      expect(failed.output).not.toContain("undefined");
    } finally {
      await query("DROP ROLE IF EXISTS fault_gate");
    }
    // Nothing of the file remains: not its table, not its version row.
    const tables = await query(
      "SELECT to_regclass('public.entries') AS t, to_regclass('public.schema_migrations') AS v",
      [],
      "ledger_test",
    );
    expect(tables[0].t).toBeNull();
    if (tables[0].v !== null) {
      expect(await query("SELECT version FROM public.schema_migrations", [], "ledger_test")).toEqual([]);
    }

    await stack.up(change);
    expect(await query("SELECT id, note FROM entries", [], "ledger_test")).toEqual([
      { id: 1, note: "applied once" },
    ]);
    expect(await query("SELECT version, name FROM public.schema_migrations", [], "ledger_test")).toEqual([
      { version: 1, name: "001_ledger.sql" },
    ]);
    expect(stack.outputs.schemaVersions.ledger).toBe(1);
    // Once more: nothing changes, nothing is applied twice.
    const again = await up("--expect-no-changes").done;
    expect(again.code, again.output).toBe(0);
    expect(await query("SELECT count(*)::int AS n FROM entries", [], "ledger_test")).toEqual([{ n: 1 }]);
  }, 600_000);
});

/**
 * Credential rotation with no downtime (alternating users, docs/rotation.md),
 * on the real engine and a real PostgreSQL: a throwaway server provisioned by
 * the program itself (tests/helpers/program-stack.ts, the test stack's config).
 *
 * - At rotation 0 each service has its NOLOGIN service role and two login
 *   users; user a is active.
 * - A pool of 8 connections queries gdpr at a steady rate, opening new
 *   connections all along, while `pulumi up` rotates gdpr: no query and no
 *   login fails. Afterwards the outputs and `make env` give user b with a new
 *   password, and user a's password still works.
 * - A second `up` changes nothing.
 * - The next rotation gives user a a new password: the old one fails, b's works.
 * - What a self-migrating service creates as either user belongs to its
 *   service role, whichever user logs in, also after RESET ALL / DISCARD ALL.
 * - Both users of a service are refused CREATEDB, CREATEROLE and every other
 *   database.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { formatEnvLine } from "../scripts/env";
import { ProgramStack, startProgramStack } from "./helpers/program-stack";

let stack: ProgramStack;

beforeAll(async () => {
  stack = await startProgramStack();
}, 300_000);

afterAll(() => stack?.stop());

/** Connects with `uri` (optionally to another database); the caller ends the client. */
async function connect(uri: string, database?: string): Promise<Client> {
  const url = new URL(uri);
  if (database) url.pathname = `/${database}`;
  const client = new Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

/** The URI of `uri`'s database as `user` with `password`. */
function uriAs(uri: string, user: string, password: string): string {
  const url = new URL(uri);
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  return url.toString();
}

function userOf(uri: string): string {
  return decodeURIComponent(new URL(uri).username);
}

function passwordOf(uri: string): string {
  return decodeURIComponent(new URL(uri).password);
}

/** The PostgreSQL error `fn` raised, or undefined. */
async function pgError(fn: () => Promise<unknown>): Promise<{ code?: string; message: string } | undefined> {
  try {
    await fn();
    return undefined;
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  }
}

/** Logs in with `uri`, runs `sql`, logs out. */
async function queryAs(uri: string, sql: string, database?: string): Promise<unknown[]> {
  const c = await connect(uri, database);
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

interface PoolReport {
  queries: number;
  logins: number;
  failures: string[];
  /** Times (ms since epoch) of the successful queries. */
  times: number[];
}

/**
 * `size` clients, each in a loop until stopped: log in with `uri()` (read
 * anew at each login, as a pool reading a mounted Secret would), run
 * `perConnection` queries one every `intervalMs` (a SELECT and an INSERT into
 * user_profiles in turn), log out. Every error is recorded, none retried.
 */
function startPool(uri: () => string, size: number, intervalMs: number, perConnection: number) {
  const report: PoolReport = { queries: 0, logins: 0, failures: [], times: [] };
  let stopped = false;
  let seq = 0;
  // The pace of each client: one query per interval.
  const pace = () => new Promise((ok) => setTimeout(ok, intervalMs));
  const worker = async (w: number) => {
    while (!stopped) {
      let client: Client | undefined;
      try {
        client = await connect(uri());
        report.logins++;
        for (let i = 0; i < perConnection && !stopped; i++) {
          await pace();
          if (i % 2 === 0) {
            await client.query("SELECT count(*) FROM user_profiles");
          } else {
            const id = `rot-${w}-${seq++}`;
            await client.query("INSERT INTO user_profiles (user_id, username) VALUES ($1, $1)", [id]);
          }
          report.queries++;
          report.times.push(Date.now());
        }
      } catch (err) {
        report.failures.push(`worker ${w}: ${(err as Error).message}`);
        await pace();
      } finally {
        await client?.end().catch(() => undefined);
      }
    }
  };
  const workers = Array.from({ length: size }, (_, w) => worker(w));
  return {
    report,
    async stop(): Promise<PoolReport> {
      stopped = true;
      await Promise.all(workers);
      return report;
    },
  };
}

/** Resolves once `condition()` holds, checking every 10 ms (the test's timeout bounds it). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((ok) => setTimeout(ok, 10));
}

describe("credential rotation (alternating users)", () => {
  it("gives each service a NOLOGIN service role and two login users that SET ROLE to it; user a is active", async () => {
    const c = await stack.superuser();
    try {
      const { rows } = await c.query(
        `SELECT r.rolname, r.rolcanlogin, r.rolconfig,
                ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                       WHERE m.member = r.oid ORDER BY 1) AS member_of
           FROM pg_roles r WHERE r.rolname LIKE 'gdpr_test_app%' ORDER BY 1`,
      );
      expect(rows).toEqual([
        { rolname: "gdpr_test_app", rolcanlogin: false, rolconfig: null, member_of: [] },
        {
          rolname: "gdpr_test_app_a",
          rolcanlogin: true,
          rolconfig: ["role=gdpr_test_app"],
          member_of: ["gdpr_test_app"],
        },
        {
          rolname: "gdpr_test_app_b",
          rolcanlogin: true,
          rolconfig: ["role=gdpr_test_app"],
          member_of: ["gdpr_test_app"],
        },
      ]);
    } finally {
      await c.end();
    }
    const out = stack.outputs as unknown as Record<string, Record<string, unknown>>;
    expect(out.roles).toEqual({
      gdpr: "gdpr_test_app_a",
      openfga: "openfga_test_app_a",
      keycloak: "keycloak_test_app_a",
    });
    expect(out.serviceRoles).toEqual({
      gdpr: "gdpr_test_app",
      openfga: "openfga_test_app",
      keycloak: "keycloak_test_app",
    });
    expect(out.loginUsers.gdpr).toEqual({
      rotation: 0,
      active: "gdpr_test_app_a",
      standby: "gdpr_test_app_b",
    });
    expect(userOf(stack.outputs.connectionUris.gdpr)).toBe("gdpr_test_app_a");
  });

  let before: { uri: string; password: string };
  let after: { uri: string; password: string };

  it("rotates gdpr under a pool of 8 connections with no failed query or login; outputs and make env give user b", async () => {
    before = {
      uri: stack.outputs.connectionUris.gdpr,
      password: passwordOf(stack.outputs.connectionUris.gdpr),
    };
    const helmBefore = JSON.stringify(stack.outputs.helmValues);
    // Clients keep the credentials they were given: the rotation must not break them.
    const pool = startPool(() => before.uri, 8, 25, 6);
    // Running before the rotation starts: logins and queries are going on.
    await until(() => pool.report.logins >= 16);
    const started = Date.now();
    await stack.up({ config: { rotations: ["gdpr=1"] } });
    const ended = Date.now();
    const during = pool.report.times.filter((t) => t >= started && t <= ended).length;
    const loginsAtEnd = pool.report.logins;
    // And after it, with the outputs already rotated.
    await until(() => pool.report.logins >= loginsAtEnd + 16);
    const report = await pool.stop();

    expect(report.failures).toEqual([]);
    expect(during, "queries while pulumi up ran").toBeGreaterThan(50);
    expect(report.logins).toBeGreaterThan(40);

    after = {
      uri: stack.outputs.connectionUris.gdpr,
      password: passwordOf(stack.outputs.connectionUris.gdpr),
    };
    expect(userOf(after.uri)).toBe("gdpr_test_app_b");
    expect(after.password).not.toBe(before.password);
    const out = stack.outputs as unknown as Record<string, Record<string, unknown>>;
    expect(out.roles.gdpr).toBe("gdpr_test_app_b");
    expect(out.loginUsers.gdpr).toEqual({
      rotation: 1,
      active: "gdpr_test_app_b",
      standby: "gdpr_test_app_a",
    });
    // Only gdpr rotated; the Helm values name the same roles and Secrets.
    expect(out.roles.openfga).toBe("openfga_test_app_a");
    expect(JSON.stringify(stack.outputs.helmValues)).toBe(helmBefore);

    // `make env` follows the active user.
    const env = await stack.exec("node_modules/.bin/tsx", ["scripts/env.ts", stack.name, "--show-secrets"]);
    expect(env.code, env.output).toBe(0);
    expect(env.stdout.split("\n")).toContain(formatEnvLine(["GDPR_POSTGRES_URL", after.uri]));
    const masked = await stack.exec("node_modules/.bin/tsx", ["scripts/env.ts", stack.name]);
    expect(masked.stdout).toContain("postgresql://gdpr_test_app_b:****@");
    expect(masked.stdout).not.toContain(after.password);

    // Both work: the new credentials and the previous ones.
    expect(await queryAs(after.uri, "SELECT current_user AS u, session_user AS s")).toEqual([
      { u: "gdpr_test_app", s: "gdpr_test_app_b" },
    ]);
    expect(await queryAs(before.uri, "SELECT current_user AS u, session_user AS s")).toEqual([
      { u: "gdpr_test_app", s: "gdpr_test_app_a" },
    ]);
    // Every row the pool wrote is there.
    const rows = (await queryAs(
      after.uri,
      "SELECT count(*)::int AS n FROM user_profiles WHERE user_id LIKE 'rot-%'",
    )) as {
      n: number;
    }[];
    expect(rows[0].n).toBeGreaterThanOrEqual(Math.floor(report.queries / 2) - 8);
  }, 300_000);

  it("changes nothing on a second up", async () => {
    await stack.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
  }, 120_000);

  it("refuses make rotate for a service the stack does not have, changing nothing", async () => {
    const file = join(stack.root, `Pulumi.${stack.name}.yaml`);
    const before = readFileSync(file, "utf8");
    const r = await stack.exec("node_modules/.bin/tsx", [
      "scripts/rotate.ts",
      stack.name,
      "--service",
      "billing",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `error: stack ${stack.name} has no service "billing" (its services: gdpr, openfga, keycloak)`,
    );
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("gives user a a new password on the next rotation (make rotate): the old one fails, user b's still works", async () => {
    const r = await stack.exec("node_modules/.bin/tsx", [
      "scripts/rotate.ts",
      stack.name,
      "--service",
      "gdpr",
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain(`Pulumi.${stack.name}.yaml: rotations gdpr=2`);
    expect(r.stdout).not.toContain(after.password);
    await stack.readOutputs();
    const now = stack.outputs.connectionUris.gdpr;
    expect(userOf(now)).toBe("gdpr_test_app_a");
    expect(passwordOf(now)).not.toBe(before.password);
    expect(passwordOf(now)).not.toBe(after.password);
    const old = await pgError(() => queryAs(before.uri, "SELECT 1"));
    expect(old?.code, old?.message).toBe("28P01");
    expect(await queryAs(after.uri, "SELECT current_user AS u")).toEqual([{ u: "gdpr_test_app" }]);
    expect(await queryAs(now, "SELECT current_user AS u")).toEqual([{ u: "gdpr_test_app" }]);
  }, 300_000);

  it("makes what a self-migrating service creates as either user belong to its service role", async () => {
    const a = stack.outputs.connectionUris.openfga;
    const c = await connect(a);
    try {
      await c.query("CREATE TABLE tuple_rot (id int PRIMARY KEY)");
      // A pool's reset (asyncpg: RESET ALL; pgbouncer: DISCARD ALL) keeps the service role.
      await c.query("RESET ALL");
      await c.query("CREATE TABLE tuple_rot_after_reset (id int)");
      await c.query("DISCARD ALL");
      await c.query("RESET ROLE");
      await c.query("CREATE SEQUENCE seq_rot");
    } finally {
      await c.end();
    }
    await stack.up({ config: { rotations: ["gdpr=2", "openfga=1"] } });
    const b = stack.outputs.connectionUris.openfga;
    expect(userOf(b)).toBe("openfga_test_app_b");
    const owners = await queryAs(
      b,
      `SELECT c.relname::text AS name, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname IN ('tuple_rot', 'tuple_rot_after_reset', 'seq_rot') ORDER BY 1`,
    );
    expect(owners).toEqual([
      { name: "seq_rot", owner: "openfga_test_app" },
      { name: "tuple_rot", owner: "openfga_test_app" },
      { name: "tuple_rot_after_reset", owner: "openfga_test_app" },
    ]);
    // User b migrates what user a created: ALTER and DROP need ownership.
    const c2 = await connect(b);
    try {
      await c2.query("ALTER TABLE tuple_rot ADD COLUMN note text");
      await c2.query("INSERT INTO tuple_rot VALUES (1, 'b')");
      await c2.query("DROP TABLE tuple_rot_after_reset");
      await c2.query("DROP SEQUENCE seq_rot");
    } finally {
      await c2.end();
    }
    expect(await queryAs(a, "SELECT id, note FROM tuple_rot")).toEqual([{ id: 1, note: "b" }]);
  }, 300_000);

  it("refuses both users of gdpr CREATEDB, CREATEROLE and every other database", async () => {
    const active = stack.outputs.connectionUris.gdpr;
    const standbyUser = (stack.outputs as unknown as Record<string, Record<string, { standby: string }>>)
      .loginUsers.gdpr.standby;
    const both = [active, uriAs(active, standbyUser, after.password)];
    expect(both.map(userOf)).toEqual(["gdpr_test_app_a", "gdpr_test_app_b"]);
    for (const uri of both) {
      const user = userOf(uri);
      const c = await connect(uri);
      try {
        const db = await pgError(() => c.query("CREATE DATABASE rot_forbidden"));
        expect(db?.code, `${user} CREATE DATABASE`).toBe("42501");
        const role = await pgError(() => c.query("CREATE ROLE rot_forbidden"));
        expect(role?.code, `${user} CREATE ROLE`).toBe("42501");
        // Managed-schema: DML only, also as the service role.
        const ddl = await pgError(() => c.query("CREATE TABLE rot_forbidden (id int)"));
        expect(ddl?.code, `${user} CREATE TABLE`).toBe("42501");
        const attrs = await c.query(
          `SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles
            WHERE rolname IN (session_user, current_user)`,
        );
        for (const row of attrs.rows)
          expect(
            Object.values(row).every((v) => v === false),
            user,
          ).toBe(true);
      } finally {
        await c.end();
      }
      for (const other of ["openfga_test", "keycloak_test", "postgres", "template1"]) {
        const err = await pgError(() => queryAs(uri, "SELECT 1", other));
        expect(err?.code, `${user} on ${other}`).toBe("42501");
      }
    }
  }, 120_000);
});

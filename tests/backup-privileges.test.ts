/**
 * The backup role, proven by connecting as it to a server the program itself
 * provisioned (tests/helpers/program-stack.ts: `pulumi up` of a scratch stack
 * with the test stack's config): it reads every table and sequence of its own
 * database (gdpr's, created by the migrations as the owner role; openfga's,
 * created after `up` by the service's login role), and cannot write, change
 * the schema, create a temp table, take another role, or connect to any other
 * database.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { ProgramStack, sql, startProgramStack } from "./helpers/program-stack";

let stack: ProgramStack;

/** A client for `uri`, optionally to another database than the URI's. */
async function connect(uri: string, database?: string): Promise<Client> {
  const url = new URL(uri);
  if (database) url.pathname = `/${database}`;
  const c = new Client({ connectionString: url.toString() });
  await c.connect();
  return c;
}

async function as<T>(uri: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await connect(uri);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  stack = await startProgramStack();
  // openfga creates its tables itself, after `up`: the backup role must read those too.
  await sql(
    connect(stack.outputs.connectionUris.openfga),
    "CREATE TABLE probe_tuples (id bigserial PRIMARY KEY, object text NOT NULL)",
    "INSERT INTO probe_tuples (object) VALUES ('doc:1'), ('doc:2')",
  );
}, 300_000);

afterAll(() => stack?.stop());

describe("the backup role, on a real server", () => {
  it("exists per database with LOGIN and nothing more", async () => {
    expect(stack.outputs.backupRoles).toEqual({
      gdpr: "gdpr_test_backup",
      openfga: "openfga_test_backup",
      keycloak: "keycloak_test_backup",
    });
    const admin = await stack.admin();
    try {
      const { rows } = await admin.query(
        `SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit,
                (SELECT count(*)::int FROM pg_auth_members m WHERE m.member = r.oid) AS memberships
           FROM pg_roles r WHERE rolname LIKE '%\\_backup' ORDER BY 1`,
      );
      expect(rows).toEqual(
        ["gdpr_test_backup", "keycloak_test_backup", "openfga_test_backup"].map((rolname) => ({
          rolname,
          rolsuper: false,
          rolcreatedb: false,
          rolcreaterole: false,
          rolreplication: false,
          rolbypassrls: false,
          rolconnlimit: 2,
          memberships: 0,
        })),
      );
    } finally {
      await admin.end();
    }
  });

  it("reads every table and sequence of its own database: the migrations' and the service's own", async () => {
    const gdprTables = await as(stack.outputs.backupUris.gdpr, async (c) => {
      const { rows } = await c.query<{ t: string }>(
        "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
      );
      for (const { t } of rows) await c.query(`SELECT count(*) FROM public."${t}"`);
      const seqs = await c.query<{ s: string }>(
        "SELECT sequencename AS s FROM pg_sequences WHERE schemaname = 'public'",
      );
      for (const { s } of seqs.rows) await c.query(`SELECT last_value FROM public."${s}"`);
      return rows.map((r) => r.t);
    });
    expect(gdprTables).toEqual(expect.arrayContaining(["audit_logs", "consent_records", "user_profiles"]));
    expect(gdprTables.length).toBeGreaterThan(3);

    await as(stack.outputs.backupUris.openfga, async (c) => {
      const { rows } = await c.query("SELECT object FROM probe_tuples ORDER BY id");
      expect(rows.map((r) => r.object)).toEqual(["doc:1", "doc:2"]);
      expect((await c.query("SELECT last_value FROM probe_tuples_id_seq")).rows[0].last_value).toBe("2");
    });
  });

  it("cannot write, change the schema, use a temp table, advance a sequence or take another role", async () => {
    const refused = async (uri: string, statement: string) =>
      as(uri, (c) => c.query(statement)).then(
        () => `${statement}: allowed`,
        (err: Error) =>
          /permission denied|must be owner|must be member/.test(err.message) ? "refused" : err.message,
      );
    const gdpr = stack.outputs.backupUris.gdpr;
    const openfga = stack.outputs.backupUris.openfga;
    const attempts = [
      [openfga, "INSERT INTO probe_tuples (object) VALUES ('doc:3')"],
      [openfga, "UPDATE probe_tuples SET object = 'x'"],
      [openfga, "DELETE FROM probe_tuples"],
      [openfga, "TRUNCATE probe_tuples"],
      [openfga, "SELECT nextval('probe_tuples_id_seq')"],
      [openfga, "CREATE TABLE t (id int)"],
      [openfga, "ALTER TABLE probe_tuples ADD COLUMN x int"],
      [openfga, "DROP TABLE probe_tuples"],
      [openfga, "CREATE TEMP TABLE t (id int)"],
      [openfga, "SET ROLE openfga_test_app"],
      [gdpr, "DELETE FROM consent_records"],
      [gdpr, "CREATE SCHEMA s"],
      [gdpr, "SET ROLE gdpr_test_owner"],
      [gdpr, "SELECT purge_expired_data()"],
    ];
    // One at a time: the role's connection limit is 2.
    const results: string[] = [];
    for (const [uri, s] of attempts) results.push(await refused(uri, s));
    expect(results).toEqual(attempts.map(() => "refused"));
  });

  it("cannot connect to any other database", async () => {
    const uri = stack.outputs.backupUris.gdpr;
    for (const db of ["openfga_test", "keycloak_test", "postgres", "template1"]) {
      await expect(connect(uri, db), db).rejects.toThrow(/permission denied for database|not permitted/);
    }
  });

  it("adds no drift: refresh and a second preview find nothing to change (tables created since included)", () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (/^PG[A-Z]+$/.test(k) || k.startsWith("PULUMI_")) delete env[k];
    for (const args of [
      ["refresh", "--yes", "--skip-preview", "--expect-no-changes"],
      ["preview", "--expect-no-changes"],
    ]) {
      const res = spawnSync(join(stack.root, "scripts", "pulumi.sh"), [stack.name, ...args], {
        cwd: stack.root,
        env,
        encoding: "utf8",
      });
      expect(res.status, `${args[0]}: ${res.stdout}${res.stderr}`).toBe(0);
    }
  }, 300_000);

  // Last: the stack is gone afterwards.
  it("goes with the stack: destroy drops the backup roles and their default privileges", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (/^PG[A-Z]+$/.test(k) || k.startsWith("PULUMI_")) delete env[k];
    const res = spawnSync(
      join(stack.root, "scripts", "pulumi.sh"),
      [stack.name, "destroy", "--yes", "--skip-preview"],
      { cwd: stack.root, env, encoding: "utf8" },
    );
    expect(res.status, res.stderr).toBe(0);
    const c = await stack.superuser();
    try {
      const roles = await c.query("SELECT rolname FROM pg_roles WHERE rolname LIKE '%\\_backup'");
      expect(roles.rows).toEqual([]);
      const dbs = await c.query("SELECT datname FROM pg_database WHERE datname LIKE '%\\_test'");
      expect(dbs.rows).toEqual([]);
    } finally {
      await c.end();
    }
  }, 300_000);
});

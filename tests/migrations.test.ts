/**
 * The migration runner: pure planning, then against a real PostgreSQL 17 with
 * the roles ServiceDatabase creates (non-superuser admin, NOLOGIN owner).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MigrationError,
  MigrationFile,
  parseMigrationFiles,
  planMigrations,
  readMigrationsDir,
  runMigrations,
  sha256,
  VERSION_TABLE,
} from "../components/schema/migration-runner";
import { startTestServer, TestServer } from "./helpers/pg-server";
import { createGdprDatabase, GdprDatabase } from "./helpers/gdpr-database";

const MIGRATIONS_DIR = join(__dirname, "..", "migrations");
const SCHEMA_FILE = "001_gdpr_schema.sql";
const INDEX_FILE = "002_conversations_app_indexes.sql";
const ERASURE_FILE = "003_erasure_log.sql";
const GDPR_TABLES = ["audit_logs", "consent_records", "conversations", "user_preferences", "user_profiles"];

function file(name: string, sql: string): MigrationFile {
  return parseMigrationFiles([{ name, content: sql }])[0];
}

describe("parseMigrationFiles", () => {
  it("keeps NNN_name.sql files in version order and ignores everything else", () => {
    const files = parseMigrationFiles([
      { name: "010_later.sql", content: "SELECT 10;" },
      { name: "README.md", content: "" },
      { name: "000_init_databases.sh", content: "#!/bin/sh" },
      { name: "002_second.sql", content: "SELECT 2;" },
    ]);
    expect(files.map((f) => [f.version, f.name])).toEqual([
      [2, "002_second.sql"],
      [10, "010_later.sql"],
    ]);
    expect(files[0].checksum).toBe(sha256("SELECT 2;"));
  });

  it("lists every bad file by name and rule", () => {
    let error: Error | undefined;
    try {
      parseMigrationFiles([
        { name: "1_short.sql", content: "SELECT 1;" },
        { name: "002-dash.sql", content: "SELECT 1;" },
        { name: "000_zero.sql", content: "SELECT 1;" },
        { name: "003_a.sql", content: "SELECT 1;" },
        { name: "003_b.sql", content: "SELECT 1;" },
        { name: "004_empty.sql", content: "  \n" },
        { name: "005_psql.sql", content: "SELECT 1;\n\\set x 1\n" },
      ]);
    } catch (err) {
      error = err as Error;
    }
    expect(error).toBeInstanceOf(MigrationError);
    const message = error!.message;
    expect(message).toContain("migrations/1_short.sql: file name does not match NNN_name.sql");
    expect(message).toContain("migrations/002-dash.sql: file name does not match NNN_name.sql");
    expect(message).toContain("migrations/000_zero.sql: version 000 belongs to 000_init_databases.sh");
    expect(message).toContain("migrations/003_b.sql: version 003 is also used by 003_a.sql");
    expect(message).toContain("migrations/004_empty.sql: file is empty");
    expect(message).toContain("migrations/005_psql.sql:2: psql meta-command");
  });

  it("reads the repository's migrations: 001, then 002, checksums of the bytes on disk", () => {
    const files = readMigrationsDir(MIGRATIONS_DIR);
    expect(files.map((f) => f.name)).toEqual([SCHEMA_FILE, INDEX_FILE, ERASURE_FILE]);
    for (const f of files) expect(f.checksum).toBe(sha256(readFileSync(join(MIGRATIONS_DIR, f.name))));
  });
});

describe("planMigrations", () => {
  const one = file("001_a.sql", "SELECT 1;");
  const two = file("002_b.sql", "SELECT 2;");
  const three = file("003_c.sql", "SELECT 3;");

  it("plans the files that are not applied, in order", () => {
    const plan = planMigrations([one, two, three], [{ version: 1, name: one.name, checksum: one.checksum }]);
    expect(plan.version).toBe(1);
    expect(plan.pending.map((f) => f.name)).toEqual(["002_b.sql", "003_c.sql"]);
  });

  it("refuses a changed checksum, an unknown applied version and a file numbered below the applied ones, all at once", () => {
    expect(() =>
      planMigrations(
        [one, three],
        [
          { version: 1, name: one.name, checksum: sha256("something else") },
          { version: 2, name: "002_gone.sql", checksum: two.checksum },
          { version: 4, name: "004_ahead.sql", checksum: two.checksum },
        ],
      ),
    ).toThrow(
      /nothing was applied:\n {2}- 001_a.sql was changed after it was applied \(recorded sha256 [0-9a-f]{64}, file [0-9a-f]{64}\)[\s\S]*applied version 002 \(002_gone.sql\) has no file[\s\S]*applied version 004 \(004_ahead.sql\) has no file[\s\S]*003_c.sql is not applied but version 004 already is/,
    );
  });

  it("refuses a renamed applied file", () => {
    expect(() =>
      planMigrations([one], [{ version: 1, name: "001_old.sql", checksum: one.checksum }]),
    ).toThrow("version 001 was applied as 001_old.sql and is now named 001_a.sql");
  });
});

describe("runMigrations against PostgreSQL", { timeout: 300_000 }, () => {
  let server: TestServer;
  let counter = 0;
  /** gdpr's migrations, as the program applies them. */
  const schema = readMigrationsDir(MIGRATIONS_DIR);
  const NAMES = schema.map((f) => f.name);
  const LATEST = schema[schema.length - 1].version;
  /** A file numbered after the repository's last one. */
  const later = (label: string, sql: string) =>
    file(`${String(LATEST + 1).padStart(3, "0")}_${label}.sql`, sql);

  beforeAll(async () => {
    server = await startTestServer();
  }, 120_000);
  afterAll(() => server?.stop());

  async function fresh(): Promise<GdprDatabase> {
    counter += 1;
    return createGdprDatabase(server, `gdpr_run${counter}`);
  }

  function run(db: GdprDatabase, migrations: readonly MigrationFile[], dryRun = false) {
    return runMigrations({
      connection: db.connection(),
      ownerRole: db.ownerRole,
      loginRole: db.loginRole,
      migrations,
      dryRun,
    });
  }

  async function query(db: GdprDatabase, sql: string, params: unknown[] = []) {
    const client = await server.client(db.database);
    try {
      return (await client.query(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  const versionRows = (db: GdprDatabase) =>
    query(
      db,
      `SELECT version, name, checksum, applied_at, applied_by FROM ${VERSION_TABLE} ORDER BY version`,
    );
  const tables = async (db: GdprDatabase) =>
    (
      await query(
        db,
        "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY 1",
      )
    ).map((r) => [r.tablename, r.tableowner]);

  it("applies gdpr's migrations to an empty database in order, as the owner role, and records version, name, checksum, time", async () => {
    const db = await fresh();
    const result = await run(db, schema);
    expect(result.applied).toEqual([SCHEMA_FILE, INDEX_FILE, ERASURE_FILE]);
    expect(result.version).toBe(3);
    expect(await tables(db)).toEqual([...GDPR_TABLES, "erasure_log"].sort().map((t) => [t, db.ownerRole]));
    const rows = await versionRows(db);
    expect(rows).toEqual(
      [SCHEMA_FILE, INDEX_FILE, ERASURE_FILE].map((name, i) =>
        expect.objectContaining({
          version: i + 1,
          name,
          checksum: sha256(readFileSync(join(MIGRATIONS_DIR, name))),
          applied_by: "platform_admin",
        }),
      ),
    );
    expect(rows[0].applied_at).toBeInstanceOf(Date);
    // The admin acted as the owner without keeping any membership in it.
    expect(
      await query(
        db,
        "SELECT count(*)::int AS n FROM pg_auth_members WHERE roleid = $1::regrole AND member = 'platform_admin'::regrole AND set_option",
        [db.ownerRole],
      ),
    ).toEqual([{ n: 0 }]);
  });

  it("a second run applies nothing and leaves the version table as it was", async () => {
    const db = await fresh();
    await run(db, schema);
    const before = await versionRows(db);
    const again = await run(db, schema);
    expect(again.applied).toEqual([]);
    expect(again.version).toBe(LATEST);
    expect(await versionRows(db)).toEqual(before);
  });

  it("dry run lists what would be applied and changes nothing", async () => {
    const db = await fresh();
    const extra = later("extra", "CREATE TABLE extra (id int);");
    const dry = await run(db, [...schema, extra], true);
    expect(dry).toMatchObject({
      dryRun: true,
      version: 0,
      applied: [],
      pending: [...NAMES, extra.name],
    });
    expect(await query(db, "SELECT to_regclass('public.schema_migrations') AS t")).toEqual([{ t: null }]);
    expect(await tables(db)).toEqual([]);
    await run(db, schema);
    expect((await run(db, [...schema, extra], true)).pending).toEqual([extra.name]);
  });

  it("refuses a tampered applied file and applies nothing, not even a new one", async () => {
    const db = await fresh();
    await run(db, schema);
    const tampered = parseMigrationFiles([{ name: SCHEMA_FILE, content: schema[0].sql + "\n-- edited\n" }]);
    const extra = later("extra", "CREATE TABLE extra (id int);");
    await expect(run(db, [...tampered, ...schema.slice(1), extra])).rejects.toThrow(
      /nothing was applied:\n {2}- 001_gdpr_schema.sql was changed after it was applied/,
    );
    expect(await query(db, "SELECT to_regclass('public.extra') AS t")).toEqual([{ t: null }]);
    expect((await versionRows(db)).map((r) => r.name)).toEqual(NAMES);
  });

  it("refuses a database with an applied version this checkout does not have", async () => {
    const db = await fresh();
    const extra = later("extra", "CREATE TABLE extra (id int);");
    await run(db, [...schema, extra]);
    await expect(run(db, schema)).rejects.toThrow(
      `applied version ${extra.name.slice(0, 3)} (${extra.name}) has no file`,
    );
  });

  it("a failing migration rolls back completely and leaves the version table as it was", async () => {
    const db = await fresh();
    await run(db, schema);
    const before = await versionRows(db);
    const broken = later(
      "broken",
      "CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1);\nSELECT no_such_column FROM half_done;\n",
    );
    await expect(run(db, [...schema, broken])).rejects.toThrow(
      /\d{3}_broken.sql failed and was rolled back \(nothing of it remains\): column "no_such_column" does not exist, line 3/,
    );
    expect(await query(db, "SELECT to_regclass('public.half_done') AS t")).toEqual([{ t: null }]);
    expect(await versionRows(db)).toEqual(before);
  });

  it("a failing first migration leaves no version table behind", async () => {
    const db = await fresh();
    await expect(run(db, [file("001_broken.sql", "CREATE TABLE t (id int);\nSELEC 1;")])).rejects.toThrow(
      /001_broken.sql failed .*syntax error at or near "SELEC", line 2/,
    );
    expect(
      await query(db, "SELECT to_regclass('public.schema_migrations') AS v, to_regclass('public.t') AS t"),
    ).toEqual([{ v: null, t: null }]);
  });

  it("four concurrent runners apply each file exactly once", async () => {
    const db = await fresh();
    // 002 counts its own executions in a table that survives only if committed.
    const counting = later(
      "counting",
      "CREATE TABLE IF NOT EXISTS apply_count (n int);\nINSERT INTO apply_count VALUES (1);\nSELECT pg_sleep(0.2);\n",
    );
    const results = await Promise.all([1, 2, 3, 4].map(() => run(db, [...schema, counting])));
    const appliedBy = results.map((r) => r.applied);
    expect(appliedBy.flat().sort()).toEqual([...NAMES, counting.name]);
    expect(results.every((r) => r.version === counting.version)).toBe(true);
    expect(await query(db, "SELECT count(*)::int AS n FROM apply_count")).toEqual([{ n: 1 }]);
    expect((await versionRows(db)).map((r) => r.version)).toEqual(
      [...schema, counting].map((f) => f.version),
    );
  });

  it("names the owner role when the connecting role cannot SET ROLE to it", async () => {
    const db = await fresh();
    const su = await server.client(db.database);
    try {
      await su.query("CREATE ROLE outsider LOGIN PASSWORD 'outsider-pw'");
      await su.query(`GRANT CONNECT ON DATABASE ${db.database} TO outsider`);
    } finally {
      await su.end();
    }
    await expect(
      runMigrations({
        connection: { ...db.connection(), user: "outsider", password: "outsider-pw" },
        ownerRole: db.ownerRole,
        loginRole: db.loginRole,
        migrations: schema,
      }),
    ).rejects.toThrow(`cannot act as the schema-owner role "${db.ownerRole}" (SET ROLE)`);
    expect(await tables(db)).toEqual([]);
  });

  it("002 gives conversations the index names the application checks, owned by the owner role, duplicating none", async () => {
    const db = await fresh();
    await run(db, schema.slice(0, 1));
    const named = `SELECT indexname, indexdef FROM pg_indexes
                    WHERE schemaname = 'public' AND indexname IN ('idx_conversations_user_id', 'idx_conversations_created_at')
                    ORDER BY 1`;
    expect(await query(db, named)).toEqual([]); // 001 alone does not have them
    await run(db, schema);
    expect(await query(db, named)).toEqual([
      {
        indexname: "idx_conversations_created_at",
        indexdef:
          "CREATE INDEX idx_conversations_created_at ON public.conversations USING btree (created_at)",
      },
      {
        indexname: "idx_conversations_user_id",
        indexdef: "CREATE INDEX idx_conversations_user_id ON public.conversations USING btree (user_id)",
      },
    ]);
    expect(
      await query(
        db,
        "SELECT DISTINCT pg_get_userbyid(c.relowner) AS owner FROM pg_class c WHERE c.relname LIKE 'idx_conversations_%'",
      ),
    ).toEqual([{ owner: db.ownerRole }]);
    // No index is an exact duplicate of another (same table, columns, order, expressions,
    // predicate): the rule 002 was written by (rename, rather than add, a duplicate).
    const duplicates = () =>
      query(
        db,
        `SELECT string_agg(i.indexrelid::regclass::text, ', ' ORDER BY i.indexrelid::regclass::text) AS same
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relnamespace = 'public'::regnamespace
        GROUP BY i.indrelid, i.indkey::text, i.indclass::text, i.indoption::text,
                 pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid)
       HAVING count(*) > 1`,
      );
    expect(await duplicates()).toEqual([]);
    // The check finds one when there is one.
    await query(db, "CREATE INDEX duplicate_probe ON conversations (user_id)");
    expect(await duplicates()).toEqual([{ same: "duplicate_probe, idx_conversations_user_id" }]);
  });

  it("001 refuses to run as anyone but the schema owner, or without the login role setting", async () => {
    const db = await fresh();
    const su = await server.client(db.database);
    try {
      await expect(su.query(schema[0].sql)).rejects.toThrow("platform.login_role is not set");
      await su.query("BEGIN");
      await su.query("SELECT set_config('platform.login_role', $1, true)", [db.loginRole]);
      await expect(su.query(schema[0].sql)).rejects.toThrow(
        `running as "postgres", but schema public is owned by "${db.ownerRole}"`,
      );
      await su.query("ROLLBACK");
    } finally {
      await su.end();
    }
    expect(await tables(db)).toEqual([]);
  });
});

/**
 * migrations/000_init_databases.sh in test mode against a real server, as the
 * image's superuser (as the postgres image runs it): it creates the _test
 * databases, roles and privilege profiles and migrates gdpr_test, its login
 * role logs in with its password, a second run changes nothing, the
 * TypeScript runner and the script accept each other's version table, and an
 * edited applied migration is refused.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readMigrationsDir, runMigrations, sha256 } from "../components/schema/migration-runner";
import { createGdprDatabase } from "./helpers/gdpr-database";
import {
  copyOfMigrations,
  LATER,
  LATEST,
  pgEnv,
  rows,
  runScript,
  SCHEMA_FILE,
  ScriptResult,
} from "./helpers/init-script";
import { startTestServer, TestServer } from "./helpers/pg-server";
import { MIGRATIONS } from "./helpers/program-stack";

const ROOT = join(__dirname, "..");

/** Everything the script may change, as the superuser sees it. */
async function snapshot(server: TestServer, databases: string[]): Promise<unknown> {
  const cluster = await rows(
    server,
    "postgres",
    `SELECT (SELECT json_agg(r ORDER BY rolname) FROM (SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit, rolpassword FROM pg_authid) r) AS roles,
            (SELECT json_agg(m ORDER BY m::text) FROM (SELECT roleid::regrole::text AS role, member::regrole::text AS member, admin_option, inherit_option, set_option FROM pg_auth_members) m) AS members,
            (SELECT json_agg(d ORDER BY datname) FROM (SELECT datname, datdba::regrole::text AS owner, datacl::text, encoding, datcollate FROM pg_database) d) AS databases`,
  );
  const perDb: Record<string, unknown> = {};
  for (const db of databases) {
    perDb[db] = await rows(
      server,
      db,
      `SELECT nspowner::regrole::text AS owner, nspacl::text AS acl,
              (SELECT json_agg(t ORDER BY tablename) FROM pg_tables t WHERE schemaname = 'public') AS tables,
              (SELECT json_agg(m ORDER BY version) FROM (SELECT * FROM public.schema_migrations) m WHERE to_regclass('public.schema_migrations') IS NOT NULL) AS versions
         FROM pg_namespace WHERE nspname = 'public'`,
    ).catch(async () =>
      rows(
        server,
        db,
        "SELECT nspowner::regrole::text AS owner, nspacl::text AS acl FROM pg_namespace WHERE nspname = 'public'",
      ),
    );
  }
  return { cluster, perDb };
}

describe("test mode, as the image's superuser", { timeout: 300_000 }, () => {
  let server: TestServer;
  const TEST_DBS = ["gdpr_test", "openfga_test", "keycloak_test"];
  const passwords = {
    GDPR_DB_PASSWORD: "gdpr-pw-'quoted' $x",
    OPENFGA_DB_PASSWORD: "openfga-pw",
    KEYCLOAK_DB_PASSWORD: "kc-pw",
  };
  let first: ScriptResult;

  beforeAll(async () => {
    server = await startTestServer();
    first = runScript({ ...pgEnv(server), PLATFORM_ENVIRONMENT: "test", ...passwords });
  }, 300_000);
  afterAll(() => server?.stop());

  it("creates the _test databases, roles and privilege profiles, and migrates gdpr_test", async () => {
    expect(first.stderr).toContain("validated:");
    expect(first.status).toBe(0);
    expect(first.stderr).not.toContain(passwords.GDPR_DB_PASSWORD);
    const dbs = await rows(
      server,
      "postgres",
      "SELECT datname, datdba::regrole::text AS owner, has_database_privilege('public', datname, 'CONNECT') AS public_connect FROM pg_database WHERE datname LIKE '%\\_test' ORDER BY 1",
    );
    expect(dbs).toEqual(
      TEST_DBS.sort().map((datname) => ({ datname, owner: "postgres", public_connect: false })),
    );
    const roles = await rows(
      server,
      "postgres",
      "SELECT rolname, rolcanlogin, rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls AS powerful, rolconnlimit FROM pg_roles WHERE rolname LIKE '%\\_test\\_%' ORDER BY 1",
    );
    expect(roles).toEqual([
      { rolname: "gdpr_test_app", rolcanlogin: true, powerful: false, rolconnlimit: 25 },
      { rolname: "gdpr_test_owner", rolcanlogin: false, powerful: false, rolconnlimit: -1 },
      { rolname: "keycloak_test_app", rolcanlogin: true, powerful: false, rolconnlimit: 25 },
      { rolname: "openfga_test_app", rolcanlogin: true, powerful: false, rolconnlimit: 25 },
    ]);
    for (const [db, owner] of [
      ["gdpr_test", "gdpr_test_owner"],
      ["openfga_test", "openfga_test_app"],
      ["keycloak_test", "keycloak_test_app"],
    ]) {
      expect(
        await rows(
          server,
          db,
          "SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = 'public'",
        ),
      ).toEqual([{ owner }]);
    }
    const versions = await rows(
      server,
      "gdpr_test",
      "SELECT version, name, checksum, applied_by FROM public.schema_migrations",
    );
    expect(versions).toEqual(
      MIGRATIONS.map((m) => ({
        version: m.version,
        name: m.name,
        checksum: sha256(readFileSync(join(ROOT, "migrations", m.name))),
        applied_by: "postgres",
      })),
    );
    expect(versions.map((v) => v.name)).toEqual([
      SCHEMA_FILE,
      "002_conversations_app_indexes.sql",
      "003_erasure_log.sql",
    ]);
    // The index names the application's own tests check.
    expect(
      await rows(
        server,
        "gdpr_test",
        "SELECT indexname FROM pg_indexes WHERE tablename = 'conversations' AND indexname LIKE 'idx_%' ORDER BY 1",
      ),
    ).toEqual([{ indexname: "idx_conversations_created_at" }, { indexname: "idx_conversations_user_id" }]);
  });

  it("the login role logs in with its password and has the schema's grants", async () => {
    const app = await server.client("gdpr_test", "gdpr_test_app", passwords.GDPR_DB_PASSWORD);
    try {
      await app.query("INSERT INTO user_profiles (user_id, username) VALUES ('u1', 'alice')");
      await expect(app.query("DELETE FROM audit_logs")).rejects.toThrow(/permission denied/);
      await expect(app.query("CREATE TABLE x (id int)")).rejects.toThrow(
        /permission denied for schema public/,
      );
    } finally {
      await app.end();
    }
    await expect(server.client("openfga_test", "gdpr_test_app", passwords.GDPR_DB_PASSWORD)).rejects.toThrow(
      /permission denied for database "openfga_test"/,
    );
  });

  it("a second run changes nothing and exits 0", async () => {
    const before = await snapshot(server, TEST_DBS);
    const second = runScript({ ...pgEnv(server), PLATFORM_ENVIRONMENT: "test", ...passwords });
    expect(second.stderr).toContain("validated:");
    expect(second.status).toBe(0);
    expect(second.stderr).not.toMatch(/created|applying/);
    expect(second.stderr).toContain(`gdpr_test: ${SCHEMA_FILE} already applied`);
    expect(await snapshot(server, TEST_DBS)).toEqual(before);
  });

  it("the TypeScript runner accepts the database the script migrated: same rows, nothing re-applied", async () => {
    const before = await rows(server, "gdpr_test", "SELECT * FROM public.schema_migrations");
    const result = await runMigrations({
      connection: {
        host: server.host,
        port: server.port,
        database: "gdpr_test",
        user: "postgres",
        password: server.superuserPassword,
      },
      ownerRole: "gdpr_test_owner",
      loginRole: "gdpr_test_app",
      migrations: readMigrationsDir(join(ROOT, "migrations")),
    });
    expect(result).toMatchObject({ applied: [], version: LATEST.version });
    expect(await rows(server, "gdpr_test", "SELECT * FROM public.schema_migrations")).toEqual(before);
  });

  it("accepts a database the TypeScript runner migrated (staging names on the same server)", async () => {
    const pre = await createGdprDatabase(server, "gdpr");
    const migrated = await runMigrations({
      connection: pre.connection(),
      ownerRole: pre.ownerRole,
      loginRole: pre.loginRole,
      migrations: readMigrationsDir(join(ROOT, "migrations")),
    });
    expect(migrated.applied).toEqual(MIGRATIONS.map((m) => m.name));
    const res = runScript({ ...pgEnv(server), PLATFORM_ENVIRONMENT: "staging", SERVICES: "gdpr" });
    for (const m of MIGRATIONS) expect(res.stderr).toContain(`gdpr: ${m.name} already applied`);
    expect(res.status).toBe(0);
  });

  it("refuses an edited applied migration and applies nothing", async () => {
    const dir = copyOfMigrations();
    try {
      writeFileSync(
        join(dir, SCHEMA_FILE),
        readFileSync(join(ROOT, "migrations", SCHEMA_FILE), "utf8") + "\n-- edited\n",
      );
      writeFileSync(join(dir, LATER("extra")), "CREATE TABLE extra (id int);\n");
      const res = runScript({ ...pgEnv(server), PLATFORM_ENVIRONMENT: "test", MIGRATIONS_DIR: dir });
      expect(res.status).toBe(1);
      expect(res.stderr).toContain(`${SCHEMA_FILE} was changed after it was applied`);
      expect(await rows(server, "gdpr_test", "SELECT to_regclass('public.extra') AS t")).toEqual([
        { t: null },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * migrations/000_init_databases.sh in dev mode against a real server, as a
 * CREATEDB CREATEROLE admin through PG* variables (as on a cloud): it stops
 * before changing anything when the schema file is missing, creates the dev
 * databases and roles when no environment is given, waits for the TypeScript
 * runner's advisory lock, and fails validation naming what is wrong.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATION_LOCK_KEY } from "../components/schema/migration-runner";
import {
  copyOfMigrations,
  LATER,
  LATEST,
  pgEnv,
  rows,
  runScript,
  SCHEMA_FILE,
  SCRIPT,
} from "./helpers/init-script";
import { startTestServer, TestServer } from "./helpers/pg-server";
import { MIGRATIONS } from "./helpers/program-stack";

describe("dev mode, as a CREATEDB CREATEROLE admin through PG* variables", { timeout: 300_000 }, () => {
  let server: TestServer;
  let admin: Record<string, string>;
  const DEV_DBS = ["gdpr", "openfga", "keycloak"];
  /** The repository's migrations plus a later one that the lock test applies. */
  let withLater: string;

  beforeAll(async () => {
    server = await startTestServer();
    const su = await server.client();
    try {
      await su.query("CREATE ROLE platform_admin LOGIN CREATEDB CREATEROLE PASSWORD 'admin-pw'");
    } finally {
      await su.end();
    }
    admin = pgEnv(server, "platform_admin", "admin-pw");
    withLater = copyOfMigrations();
    writeFileSync(join(withLater, LATER("after_lock")), "CREATE TABLE after_lock (id int);\n");
  }, 120_000);
  afterAll(() => {
    server?.stop();
    if (withLater) rmSync(withLater, { recursive: true, force: true });
  });

  it("with the schema file missing it exits non-zero naming the file, before changing anything", async () => {
    const empty = mkdtempSync(join(tmpdir(), "migrations-"));
    try {
      const res = runScript({ ...admin, MIGRATIONS_DIR: empty });
      expect(res.status).toBe(1);
      expect(res.stderr).toContain(`${empty}/${SCHEMA_FILE} is missing`);
      expect(
        await rows(
          server,
          "postgres",
          "SELECT datname FROM pg_database WHERE datname IN ('gdpr', 'openfga', 'keycloak')",
        ),
      ).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("creates gdpr, openfga and keycloak with their roles when no environment is given", async () => {
    const res = runScript(admin);
    expect(res.stderr).toContain(
      "environment dev (neither PLATFORM_ENVIRONMENT nor a POSTGRES_DB ending in _test is set)",
    );
    expect(res.stderr).toContain("validated:");
    expect(res.status).toBe(0);
    const dbs = await rows(
      server,
      "postgres",
      "SELECT datname, datdba::regrole::text AS owner FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1') ORDER BY 1",
    );
    expect(dbs).toEqual([...DEV_DBS].sort().map((datname) => ({ datname, owner: "platform_admin" })));
    const roles = await rows(
      server,
      "postgres",
      "SELECT rolname FROM pg_roles WHERE rolname ~ '^(gdpr|openfga|keycloak)_(app|owner)$' ORDER BY 1",
    );
    expect(roles.map((r) => r.rolname)).toEqual(["gdpr_app", "gdpr_owner", "keycloak_app", "openfga_app"]);
    const tables = await rows(
      server,
      "gdpr",
      "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    expect(tables).toEqual(
      [
        "audit_logs",
        "consent_records",
        "conversations",
        "erasure_log",
        "schema_migrations",
        "user_preferences",
        "user_profiles",
      ].map((tablename) => ({ tablename, tableowner: "gdpr_owner" })),
    );
    // The schema ACLs took although the admin is neither the schema's owner nor a member of it.
    const schemaAcl = await rows(
      server,
      "gdpr",
      "SELECT has_schema_privilege('public', 'public', 'USAGE') AS public_usage, has_schema_privilege('gdpr_app', 'public', 'USAGE') AS app_usage, has_schema_privilege('gdpr_app', 'public', 'CREATE') AS app_create",
    );
    expect(schemaAcl).toEqual([{ public_usage: false, app_usage: true, app_create: false }]);
    const memberships = await rows(
      server,
      "postgres",
      "SELECT count(*)::int AS n FROM pg_auth_members WHERE member = 'platform_admin'::regrole AND set_option",
    );
    expect(memberships, "the admin keeps no membership it could SET ROLE with").toEqual([{ n: 0 }]);
    const second = runScript(admin);
    expect(second.status).toBe(0);
    expect(second.stderr).not.toMatch(/created|applying|granted/);
  });

  it("waits for the TypeScript runner's advisory lock, then applies a new file once", async () => {
    const holder = new Client({
      host: server.host,
      port: server.port,
      database: "gdpr",
      user: "postgres",
      password: server.superuserPassword,
    });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
      const child = spawn("bash", [SCRIPT], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp", ...admin, MIGRATIONS_DIR: withLater },
      });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      // The bigint key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits).
      const key = BigInt(MIGRATION_LOCK_KEY);
      const waiting = `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                         AND classid = ${key >> 32n} AND objid = ${key & 0xffffffffn} AND objsubid = 1`;
      let n = 0;
      for (let i = 0; i < 600 && n === 0; i++) {
        n = (await holder.query(waiting)).rows[0].n;
        if (n === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(n, `the script never waited for the lock; its log:\n${stderr}`).toBe(1);
      expect((await holder.query("SELECT to_regclass('public.after_lock') AS t")).rows).toEqual([
        { t: null },
      ]);
      await holder.query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]);
      expect(await exited).toBe(0);
      expect(stderr).toContain(`gdpr: applying ${LATER("after_lock")} as gdpr_owner`);
      expect((await holder.query("SELECT version FROM public.schema_migrations ORDER BY 1")).rows).toEqual(
        [...MIGRATIONS.map((m) => m.version), LATEST.version + 1].map((version) => ({ version })),
      );
    } finally {
      await holder.end();
    }
  });

  it("fails validation naming what is wrong", async () => {
    const su = await server.client("gdpr");
    try {
      await su.query("ALTER ROLE gdpr_app CREATEDB");
      await su.query("DROP TABLE audit_logs");
      await su.query("GRANT CONNECT ON DATABASE openfga TO PUBLIC");
      await su.query("REVOKE CONNECT ON DATABASE keycloak FROM keycloak_app");
      await su.query("ALTER DATABASE keycloak OWNER TO postgres");
      await su.query("GRANT CONNECT ON DATABASE keycloak TO platform_admin");
    } finally {
      await su.end();
    }
    const res = runScript({ ...admin, MIGRATIONS_DIR: withLater });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("validation failed");
    expect(res.stderr).toContain("login role gdpr_app is missing, cannot log in, or has SUPERUSER/CREATEDB");
    expect(res.stderr).toContain("database gdpr: required table audit_logs is missing");
    // The admin no longer owns keycloak: its REVOKE/GRANT do not take, and validation says so.
    expect(res.stderr).toContain("database keycloak: keycloak_app has no CONNECT");
    // openfga is still the admin's: the run re-revoked PUBLIC's CONNECT.
    expect(res.stderr).not.toContain("database openfga: PUBLIC still has CONNECT");
  });
});

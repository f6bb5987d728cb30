/**
 * migrations/000_init_databases.sh: its naming agrees with the TypeScript (run
 * both on the same inputs), and against real PostgreSQL servers it creates the
 * right names in test mode (as a superuser, like the postgres image) and dev
 * mode (as a CREATEDB CREATEROLE admin through PG* variables, like a cloud),
 * is a no-op the second time, writes the version table the TypeScript runner
 * accepts, waits for the runner's advisory lock, and fails naming what is
 * missing.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import {
  LOGIN_ROLE_SETTING,
  MIGRATION_LOCK_KEY,
  readMigrationsDir,
  runMigrations,
  sha256,
  VERSION_TABLE_DDL,
} from "../components/schema/migration-runner";
import { databaseName, ENVIRONMENTS, RESERVED_NAMES, roleNames } from "../components/naming";
import { startTestServer, TestServer } from "./helpers/pg-server";
import { createGdprDatabase } from "./helpers/gdpr-database";

const ROOT = join(__dirname, "..");
const SCRIPT = join(ROOT, "migrations", "000_init_databases.sh");
const SCRIPT_TEXT = readFileSync(SCRIPT, "utf8");
const SCHEMA_FILE = "001_gdpr_schema.sql";
/** gdpr's migrations in the repository, in version order. */
const MIGRATIONS = readMigrationsDir(join(ROOT, "migrations"));
const LATEST = MIGRATIONS[MIGRATIONS.length - 1];
/** A migration numbered after the repository's last one. */
const LATER = (label: string) => `${String(LATEST.version + 1).padStart(3, "0")}_${label}.sql`;

/** A temp copy of the repository's migrations (to edit or add to). */
function copyOfMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), "migrations-"));
  for (const m of MIGRATIONS) copyFileSync(join(ROOT, "migrations", m.name), join(dir, m.name));
  return dir;
}

interface ScriptResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the script with only the given variables (plus PATH and HOME). */
function runScript(env: Record<string, string>, args: string[] = []): ScriptResult {
  const res = spawnSync("bash", [SCRIPT, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
    encoding: "utf8",
    timeout: 300_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

// One definition of the naming rules: the script's --plan against naming.ts
// and config.ts on the same inputs.

interface Inputs {
  environment: string;
  services?: string[];
  /** [] is "no managed-schema service" (MANAGED_SCHEMA_SERVICES=""). */
  managed?: string[];
  connectionLimit?: string;
}

function scriptPlan(inputs: Inputs): ScriptResult {
  const env: Record<string, string> = { PLATFORM_ENVIRONMENT: inputs.environment };
  if (inputs.services) env.SERVICES = inputs.services.join(" ");
  if (inputs.managed) env.MANAGED_SCHEMA_SERVICES = inputs.managed.join(",");
  if (inputs.connectionLimit !== undefined) env.CONNECTION_LIMIT = inputs.connectionLimit;
  return runScript(env, ["--plan"]);
}

/** What the TypeScript makes of the same inputs, in --plan's format (throws like the program). */
function typescriptPlan(inputs: Inputs): string {
  // parseStackConfig refuses target local for staging/prod; profiles and
  // limits do not depend on the environment, names are recomputed for it.
  const local =
    inputs.environment === "staging" || inputs.environment === "prod" ? "dev" : inputs.environment;
  const cfg = parseStackConfig({
    environment: local,
    services: inputs.services ? JSON.stringify(inputs.services) : undefined,
    managedSchemaServices: inputs.managed ? JSON.stringify(inputs.managed) : undefined,
    connectionLimit: inputs.connectionLimit,
  });
  const lines = [`environment=${inputs.environment}`];
  for (const svc of cfg.services) {
    const roles = roleNames(svc.name, inputs.environment);
    lines.push(
      `service=${svc.name} database=${databaseName(svc.name, inputs.environment)} login=${roles.login} owner=${
        svc.profile === "managed-schema" ? roles.owner : "-"
      } profile=${svc.profile} connection_limit=${svc.connectionLimit}`,
    );
  }
  return lines.join("\n") + "\n";
}

describe("000_init_databases.sh and the TypeScript name things alike", () => {
  const valid: Inputs[] = [];
  for (const environment of ENVIRONMENTS) {
    valid.push({ environment });
    valid.push({ environment, services: ["gdpr", "billing", "audit_trail"] });
    valid.push({
      environment,
      // openfga's smallest limit; gdpr's pools would need 23 (connection-budget.ts).
      services: ["openfga", "billing"],
      managed: ["openfga", "billing"],
      connectionLimit: "7",
    });
    valid.push({ environment, services: ["keycloak"] });
    valid.push({ environment, services: ["gdpr", "openfga"], managed: [] });
    valid.push({ environment, services: ["rds", "template", "a1", "pgx", "test_data"] });
  }
  // Longest names that still fit 63 bytes: `{svc}_backup` in dev, `{svc}_test_backup` in test.
  valid.push({ environment: "dev", services: ["x".repeat(56)] });
  valid.push({ environment: "test", services: ["x".repeat(51)] });

  it.each(valid.map((v) => [JSON.stringify(v), v] as const))("same names for %s", (_label, inputs) => {
    const script = scriptPlan(inputs);
    expect(script.stderr).toBe("");
    expect(script.status).toBe(0);
    expect(script.stdout).toBe(typescriptPlan(inputs));
  });

  const invalid: [string, Inputs, string][] = [
    ["uppercase", { environment: "dev", services: ["GDPR"] }, '"GDPR"'],
    ["a _test suffix", { environment: "test", services: ["gdpr_test"] }, '"gdpr_test"'],
    ["a pg_ prefix", { environment: "dev", services: ["pg_stats"] }, '"pg_stats"'],
    ["a leading digit", { environment: "dev", services: ["1gdpr"] }, '"1gdpr"'],
    ["a dash", { environment: "dev", services: ["gdpr-db"] }, '"gdpr-db"'],
    ["a duplicate", { environment: "dev", services: ["gdpr", "openfga", "gdpr"] }, '"gdpr" is listed twice'],
    ["64 bytes in dev", { environment: "dev", services: ["x".repeat(57)] }, "64 bytes"],
    ["64 bytes in test", { environment: "test", services: ["x".repeat(52)] }, "64 bytes"],
    [
      "an unknown managed service",
      { environment: "dev", services: ["openfga"], managed: ["gdpr"] },
      '"gdpr"',
    ],
    ["connection limit 0", { environment: "dev", connectionLimit: "0" }, "0"],
    ["connection limit 10001", { environment: "dev", connectionLimit: "10001" }, "10001"],
    ["a non-integer connection limit", { environment: "dev", connectionLimit: "many" }, '"many"'],
    ["an unknown environment", { environment: "qa" }, '"qa"'],
    ...RESERVED_NAMES.map((name): [string, Inputs, string] => [
      `reserved name ${name}`,
      { environment: "dev", services: ["gdpr", name] },
      `"${name}"`,
    ]),
  ];

  it.each(invalid)("both refuse %s, naming the value", (_label, inputs, named) => {
    expect(() => typescriptPlan(inputs)).toThrow();
    const script = scriptPlan(inputs);
    expect(script.status).toBe(1);
    expect(script.stdout).toBe("");
    expect(script.stderr).toContain("ERROR");
    expect(script.stderr).toContain(named);
  });

  it("its reserved-name list is naming.ts's", () => {
    const m = /^RESERVED_NAMES=\(([^)]*)\)/m.exec(SCRIPT_TEXT);
    expect(m, "RESERVED_NAMES=( … ) in the script").not.toBeNull();
    expect(m![1].split(/\s+/).filter(Boolean).sort()).toEqual([...RESERVED_NAMES].sort());
  });

  it("it writes the runner's version table and uses its lock key and login-role setting", () => {
    expect(SCRIPT_TEXT).toContain(`MIGRATION_LOCK_KEY=${MIGRATION_LOCK_KEY}\n`);
    expect(SCRIPT_TEXT).toContain(`LOGIN_ROLE_SETTING=${LOGIN_ROLE_SETTING}\n`);
    // The script's copy sits in a double-quoted bash string, where `$` is escaped.
    const m = /^VERSION_TABLE_DDL="([^"]*)"$/m.exec(SCRIPT_TEXT);
    expect(m).not.toBeNull();
    expect(m![1].replace(/\\\$/g, "$")).toBe(VERSION_TABLE_DDL);
  });

  it("ADR-0060 detection: POSTGRES_DB ending in _test selects test, anything else dev", () => {
    expect(runScript({ POSTGRES_DB: "gdpr_test" }, ["--plan"]).stdout).toBe(
      typescriptPlan({ environment: "test" }),
    );
    expect(runScript({ POSTGRES_DB: "postgres" }, ["--plan"]).stdout).toBe(
      typescriptPlan({ environment: "dev" }),
    );
    expect(runScript({}, ["--plan"]).stdout).toBe(typescriptPlan({ environment: "dev" }));
  });
});

// Against real servers

function pgEnv(
  server: TestServer,
  user = "postgres",
  password = server.superuserPassword,
): Record<string, string> {
  return { PGHOST: server.host, PGPORT: String(server.port), PGUSER: user, PGPASSWORD: password };
}

async function rows(server: TestServer, database: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = await server.client(database);
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

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

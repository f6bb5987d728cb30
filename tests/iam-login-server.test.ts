/**
 * The SQL side of the IAM logins (components/database/iam-login.ts,
 * docs/iam.md) on the real engine and a real PostgreSQL: a scratch stack of
 * the test environment (tests/helpers/program-stack.ts) whose program also
 * applies, through tests/fixtures/iam-program.ts, RDS's `gdpr_test_app_iam`
 * (rdsIamRole) and Cloud SQL's grant of keycloak's service role to its IAM
 * service-account user (iamUserGrant). The local bootstrap
 * (scripts/local-server.ts) emulates the clouds' IAM roles they need.
 *
 * No server here checks an IAM token. Where a test logs in as an IAM user,
 * the superuser gives it a password for that test only, a stand-in for the
 * token RDS (or the Cloud SQL Auth Proxy) would check, and takes it away
 * again; everything else is the role as the program left it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { evaluate } from "../components/observability/health-evaluate";
import { collectSnapshot, Connect } from "../components/observability/health-collect";
import { CheckResult, healthSpec } from "../components/observability/health-spec";
import { CLOUD_SQL_PRINCIPAL } from "./fixtures/iam-program";
import { ProgramStack, sql, startProgramStack } from "./helpers/program-stack";

const RDS_USER = "gdpr_test_app_iam";
/** Cloud SQL's name for CLOUD_SQL_PRINCIPAL: the email without `.gserviceaccount.com`. */
const CLOUD_SQL_USER = CLOUD_SQL_PRINCIPAL.replace(/\.gserviceaccount\.com$/, "");
/** The stand-in for an IAM token (see the header). */
const TOKEN = "stand-in-for-an-iam-token";

let stack: ProgramStack;

beforeAll(async () => {
  stack = await startProgramStack({
    extend: { module: "tests/fixtures/iam-program.ts", fn: "addIamLogins" },
    up: false,
  });
  // Cloud SQL creates its IAM users itself (gcp.sql.User): LOGIN, no password, in its IAM role.
  const c = await stack.superuser();
  try {
    await c.query(
      `CREATE ROLE ${c.escapeIdentifier(CLOUD_SQL_USER)} LOGIN IN ROLE cloudsqliamserviceaccount`,
    );
  } finally {
    await c.end();
  }
  await stack.up();
}, 300_000);

afterAll(() => stack?.stop());

/** The PostgreSQL error `fn` raised, or undefined. */
async function pgError(fn: () => Promise<unknown>): Promise<{ code?: string; message: string } | undefined> {
  try {
    await fn();
    return undefined;
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  }
}

/** Runs `fn` as the superuser, on `database`. */
async function asSuperuser<T>(fn: (c: Client) => Promise<T>, database = "postgres"): Promise<T> {
  const c = await stack.superuser(database);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Runs `fn` logged in as the IAM `user` (with the stand-in token) on `database`; the token is gone afterwards. */
async function asIamUser<T>(user: string, database: string, fn: (c: Client) => Promise<T>): Promise<T> {
  await asSuperuser((s) =>
    s.query(`ALTER ROLE ${s.escapeIdentifier(user)} PASSWORD ${s.escapeLiteral(TOKEN)}`),
  );
  try {
    const c = await stack.server.client(database, user, TOKEN);
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  } finally {
    await asSuperuser((s) => s.query(`ALTER ROLE ${s.escapeIdentifier(user)} PASSWORD NULL`));
  }
}

/**
 * Every privilege `role` holds in `database` (on it and every other database,
 * schema public, its relations and functions), one line each: what it may do,
 * whether directly or through a role it inherits.
 */
async function privileges(role: string, database: string): Promise<string[]> {
  return asSuperuser(async (c) => {
    const { rows } = await c.query(
      `WITH r AS (SELECT $1::text AS name)
       SELECT 'database ' || d.datname || ' ' || p AS line FROM r, pg_database d,
              unnest(ARRAY['CONNECT', 'CREATE', 'TEMPORARY']) p
        WHERE d.datallowconn AND has_database_privilege(r.name, d.oid, p)
       UNION ALL
       SELECT 'schema public ' || p FROM r, unnest(ARRAY['USAGE', 'CREATE']) p
        WHERE has_schema_privilege(r.name, 'public', p)
       UNION ALL
       SELECT 'relation ' || cl.relname || ' ' || p FROM r, pg_class cl
         JOIN pg_namespace n ON n.oid = cl.relnamespace AND n.nspname = 'public',
              unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p
        WHERE cl.relkind IN ('r', 'p', 'v', 'm') AND has_table_privilege(r.name, cl.oid, p)
       UNION ALL
       SELECT 'columns of ' || cl.relname || ' ' || p FROM r, pg_class cl
         JOIN pg_namespace n ON n.oid = cl.relnamespace AND n.nspname = 'public',
              unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) p
        WHERE cl.relkind IN ('r', 'p', 'v', 'm') AND has_any_column_privilege(r.name, cl.oid, p)
          AND NOT has_table_privilege(r.name, cl.oid, p)
       UNION ALL
       SELECT 'sequence ' || cl.relname || ' ' || p FROM r, pg_class cl
         JOIN pg_namespace n ON n.oid = cl.relnamespace AND n.nspname = 'public',
              unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) p
        WHERE cl.relkind = 'S' AND has_sequence_privilege(r.name, cl.oid, p)
       UNION ALL
       SELECT 'function ' || f.oid::regprocedure::text || ' EXECUTE' FROM r, pg_proc f
         JOIN pg_namespace n ON n.oid = f.pronamespace AND n.nspname = 'public'
        WHERE has_function_privilege(r.name, f.oid, 'EXECUTE')
       ORDER BY 1`,
      [role],
    );
    return rows.map((row) => row.line as string);
  }, database);
}

/** A role's attributes, memberships (with the grant's options) and settings, as the superuser reads them. */
async function roleRow(role: string) {
  return asSuperuser(async (c) => {
    const { rows } = await c.query(
      `SELECT a.rolcanlogin, a.rolpassword IS NULL AS no_password, a.rolconnlimit, a.rolinherit,
              a.rolsuper, a.rolcreatedb, a.rolcreaterole, a.rolreplication, a.rolbypassrls, r.rolconfig,
              ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                     WHERE m.member = a.oid ORDER BY 1) AS member_of
         FROM pg_authid a JOIN pg_roles r ON r.oid = a.oid WHERE a.rolname = $1`,
      [role],
    );
    return rows[0];
  });
}

/** The `iam-login` row of make check for one service's IAM login, read as `connect`'s role. */
async function iamRow(
  service: string,
  user: string,
  cloud: "gcp" | "aws",
  connect: Connect,
): Promise<CheckResult> {
  const services = stack.config.services
    .filter((s) => s.name === service)
    .map((s) => ({ ...s, iamLogin: { user } }));
  const spec = healthSpec(stack.config.environment, services, { cloud });
  const rows = evaluate(spec, await collectSnapshot(spec, connect));
  return rows.find((r) => r.check === "iam-login") as CheckResult;
}

const asMonitoringRole: Connect = async (database) => {
  const url = new URL(stack.monitoringUri);
  url.pathname = `/${database}`;
  const c = new Client({ connectionString: url.toString() });
  await c.connect();
  return c;
};
const asSuperuserConnect: Connect = (database) => stack.superuser(database);

describe("the local bootstrap emulates the clouds' IAM roles", () => {
  it("rds_iam, cloudsqliamserviceaccount and cloudsqliamuser exist NOLOGIN; the admin may grant rds_iam without being in it", async () => {
    const rows = await asSuperuser(async (c) => {
      const roles = await c.query(
        `SELECT rolname, rolcanlogin FROM pg_roles
          WHERE rolname IN ('rds_iam', 'cloudsqliamserviceaccount', 'cloudsqliamuser') ORDER BY 1`,
      );
      const grant = await c.query(
        `SELECT m.admin_option, m.inherit_option, m.set_option FROM pg_auth_members m
          WHERE m.roleid = 'rds_iam'::regrole AND m.member = $1::regrole`,
        [stack.adminUser],
      );
      return { roles: roles.rows, grant: grant.rows };
    });
    expect(rows.roles).toEqual([
      { rolname: "cloudsqliamserviceaccount", rolcanlogin: false },
      { rolname: "cloudsqliamuser", rolcanlogin: false },
      { rolname: "rds_iam", rolcanlogin: false },
    ]);
    expect(rows.grant).toEqual([{ admin_option: true, inherit_option: false, set_option: false }]);
  });
});

describe("RDS's gdpr_test_app_iam, applied by the program", () => {
  it("is LOGIN without a password or a forbidden attribute, in rds_iam and gdpr's service role, its sessions SET ROLE to it", async () => {
    expect(stack.outputs.extension).toEqual({ gdpr: RDS_USER, keycloak: CLOUD_SQL_USER });
    expect(await roleRow(RDS_USER)).toEqual({
      rolcanlogin: true,
      no_password: true,
      rolconnlimit: 25,
      rolinherit: true,
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolreplication: false,
      rolbypassrls: false,
      rolconfig: ["role=gdpr_test_app"],
      member_of: ["gdpr_test_app", "rds_iam"],
    });
  });

  it("refuses a password login", async () => {
    const err = await pgError(() => stack.server.client("gdpr_test", RDS_USER, "any-password"));
    expect(err?.code, err?.message).toBe("28P01");
  });

  it("inherits exactly the service role's privileges, which are the login users'", async () => {
    const iam = await privileges(RDS_USER, "gdpr_test");
    expect(iam).toEqual(await privileges("gdpr_test_app", "gdpr_test"));
    expect(iam).toEqual(await privileges("gdpr_test_app_a", "gdpr_test"));
    // What the application needs is there; what it must not have is not.
    expect(iam).toEqual(
      expect.arrayContaining([
        "database gdpr_test CONNECT",
        "schema public USAGE",
        "relation user_profiles SELECT",
        "relation user_profiles INSERT",
        "relation audit_logs INSERT",
        "columns of audit_logs UPDATE",
      ]),
    );
    expect(
      iam.filter((line) => / (CREATE|TRUNCATE)$/.test(line) || /database (?!gdpr_test )/.test(line)),
    ).toEqual([]);
  });

  it("logged in, its session role is gdpr's service role: it reads and writes gdpr's tables as the application does", async () => {
    const seen = await asIamUser(RDS_USER, "gdpr_test", async (c) => {
      const who = await c.query("SELECT session_user AS s, current_user AS u");
      await c.query("INSERT INTO user_profiles (user_id, username) VALUES ('iam-1', 'iam')");
      await c.query("UPDATE user_profiles SET email = 'iam@example.org' WHERE user_id = 'iam-1'");
      const read = await c.query("SELECT user_id, email FROM user_profiles WHERE user_id = 'iam-1'");
      await c.query("DELETE FROM user_profiles WHERE user_id = 'iam-1'");
      return { who: who.rows[0], read: read.rows };
    });
    expect(seen).toEqual({
      who: { s: RDS_USER, u: "gdpr_test_app" },
      read: [{ user_id: "iam-1", email: "iam@example.org" }],
    });
  });

  it("may not create a database, a role or a table (managed schema), nor connect to another service's database", async () => {
    const refused = await asIamUser(RDS_USER, "gdpr_test", async (c) => ({
      database: (await pgError(() => c.query("CREATE DATABASE iam_forbidden")))?.code,
      role: (await pgError(() => c.query("CREATE ROLE iam_forbidden")))?.code,
      table: (await pgError(() => c.query("CREATE TABLE iam_forbidden (id int)")))?.code,
      // As the IAM user itself, not the service role: no more.
      asUser: await c
        .query("RESET ROLE")
        .then(() => pgError(() => c.query("CREATE DATABASE iam_forbidden")))
        .then((e) => e?.code),
    }));
    expect(refused).toEqual({ database: "42501", role: "42501", table: "42501", asUser: "42501" });
    for (const other of ["openfga_test", "keycloak_test", "postgres"]) {
      const err = await asIamUser(RDS_USER, "gdpr_test", () =>
        pgError(() => stack.server.client(other, RDS_USER, TOKEN)),
      );
      expect(err?.code, `${RDS_USER} on ${other}: ${err?.message}`).toBe("42501");
    }
  });

  it("make check's iam-login row passes it: as the monitoring role (password not visible) and as a superuser (no password); a password fails it", async () => {
    const monitor = await iamRow("gdpr", RDS_USER, "aws", asMonitoringRole);
    expect(monitor).toMatchObject({ status: "PASS", subject: RDS_USER });
    expect(monitor.reason).toContain(`password not visible to ${stack.monitoringRole}`);
    const superuser = await iamRow("gdpr", RDS_USER, "aws", asSuperuserConnect);
    expect(superuser).toMatchObject({ status: "PASS" });
    expect(superuser.reason).toContain(
      "; no password; member of gdpr_test_app and rds_iam, sessions SET ROLE to gdpr_test_app;",
    );
    await asSuperuser((c) => c.query(`ALTER ROLE ${RDS_USER} PASSWORD 'leaked'`));
    try {
      expect(await iamRow("gdpr", RDS_USER, "aws", asSuperuserConnect)).toMatchObject({
        status: "FAIL",
        reason: "has a password (an IAM login must have none)",
      });
    } finally {
      await asSuperuser((c) => c.query(`ALTER ROLE ${RDS_USER} PASSWORD NULL`));
    }
  });
});

describe("Cloud SQL's IAM service-account user of keycloak, granted its service role by the program", () => {
  it("is in keycloak's service role beside Cloud SQL's own IAM role, with its privileges", async () => {
    expect(await roleRow(CLOUD_SQL_USER)).toMatchObject({
      rolcanlogin: true,
      no_password: true,
      rolconfig: null,
      member_of: ["cloudsqliamserviceaccount", "keycloak_test_app"],
    });
    expect(await privileges(CLOUD_SQL_USER, "keycloak_test")).toEqual(
      await privileges("keycloak_test_app", "keycloak_test"),
    );
  });

  it("creates keycloak's tables as the service role after SET ROLE, and make check passes it", async () => {
    const owner = await asIamUser(CLOUD_SQL_USER, "keycloak_test", async (c) => {
      await c.query("SET ROLE keycloak_test_app");
      await c.query("CREATE TABLE iam_realm (id int PRIMARY KEY)");
      const { rows } = await c.query(
        "SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'iam_realm'",
      );
      return rows[0].owner;
    });
    expect(owner).toBe("keycloak_test_app");
    expect(await iamRow("keycloak", CLOUD_SQL_USER, "gcp", asMonitoringRole)).toMatchObject({
      status: "PASS",
      reason: expect.stringContaining(
        "member of keycloak_test_app; CONNECT on keycloak_test only; owns nothing there",
      ),
    });
    // Without SET ROLE the table would be the IAM user's: make check names it.
    await asIamUser(CLOUD_SQL_USER, "keycloak_test", (c) => c.query("CREATE TABLE iam_owned (id int)"));
    try {
      expect(await iamRow("keycloak", CLOUD_SQL_USER, "gcp", asMonitoringRole)).toMatchObject({
        status: "FAIL",
        reason: "owns iam_owned in keycloak_test (keycloak_test_app must: SET ROLE to it first)",
      });
    } finally {
      await sql(stack.superuser("keycloak_test"), "DROP TABLE iam_owned");
    }
  });
});

describe("the stack", () => {
  it("changes nothing on a second up", async () => {
    await stack.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
  }, 120_000);
});

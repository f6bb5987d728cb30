/**
 * Upgrading a stack from one login role per service to alternating users
 * (docs/rotation.md#upgrading-a-stack), on the real engine and a real
 * PostgreSQL: a scratch stack is brought up by the program as it was before
 * rotations (UPGRADE_FROM, checked out with `git archive`), filled with data
 * as each service's login role; then this tree's program runs `up` on it.
 * Every table and row is kept (same row counts and contents), the login role
 * becomes the NOLOGIN service role still owning what it created, user a logs
 * in with the password the login role had, and a second `up` changes nothing.
 * The login role's own credentials keep working until the service's first
 * rotation, which makes it NOLOGIN without a password.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { ProgramStack, startProgramStack } from "./helpers/program-stack";

/** The last commit with one login role per service (issue 15's base). */
const UPGRADE_FROM = "1fa14e5f5a99bebf5de7a6ab1ef582e5c6d2fc54";

/**
 * A clone without that commit (a shallow clone) cannot run the old program:
 * the test is skipped there and says so, and runs wherever the history is.
 */
const haveOldProgram =
  spawnSync("git", ["cat-file", "-e", `${UPGRADE_FROM}^{commit}`], { cwd: __dirname }).status === 0;
if (!haveOldProgram) {
  console.warn(`rotation-upgrade: skipped, commit ${UPGRADE_FROM} is not in this clone (shallow?)`);
}

let stack: ProgramStack;
let oldUris: Record<string, string>;

beforeAll(async () => {
  if (!haveOldProgram) return;
  stack = await startProgramStack({ commit: UPGRADE_FROM });
  oldUris = { ...stack.outputs.connectionUris };
}, 300_000);

afterAll(() => stack?.stop());

async function connect(uri: string): Promise<Client> {
  const client = new Client({ connectionString: uri, connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

async function run(uri: string, ...statements: string[]): Promise<void> {
  const c = await connect(uri);
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

/** Every table of schema public in each service database: owner, row count and an md5 of its rows. */
async function contents(): Promise<Record<string, { owner: string; rows: number; md5: string }>> {
  const out: Record<string, { owner: string; rows: number; md5: string }> = {};
  for (const db of ["gdpr_test", "openfga_test", "keycloak_test"]) {
    const c = await stack.superuser(db);
    try {
      const { rows: tables } = await c.query(
        `SELECT c.relname::text AS name, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`,
      );
      for (const t of tables) {
        const { rows } = await c.query(
          `SELECT count(*)::int AS n, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS md5
             FROM public.${JSON.stringify(t.name)} t`,
        );
        out[`${db}.${t.name}`] = { owner: t.owner, rows: rows[0].n, md5: rows[0].md5 };
      }
    } finally {
      await c.end();
    }
  }
  return out;
}

describe.skipIf(!haveOldProgram)("upgrading a stack to alternating users", () => {
  let before: Awaited<ReturnType<typeof contents>>;

  it("starts from the single login role layout, with data written as each login role", async () => {
    expect(Object.keys(stack.outputs)).not.toContain("serviceRoles");
    expect(decodeURIComponent(new URL(oldUris.gdpr).username)).toBe("gdpr_test_app");
    await run(
      oldUris.gdpr,
      "INSERT INTO user_profiles (user_id, username) SELECT 'u' || i, 'user ' || i FROM generate_series(1, 50) i",
      `INSERT INTO consent_records (consent_id, user_id, consent_type, granted)
         SELECT 'c' || i, 'u' || i, 'analytics', i % 2 = 0 FROM generate_series(1, 50) i`,
      "INSERT INTO audit_logs (log_id, user_id, action) VALUES ('l1', 'u1', 'login')",
    );
    for (const service of ["openfga", "keycloak"]) {
      await run(
        oldUris[service],
        `CREATE TABLE ${service}_data (id int PRIMARY KEY, v text)`,
        `INSERT INTO ${service}_data SELECT i, md5(i::text) FROM generate_series(1, 100) i`,
      );
    }
    before = await contents();
    expect(before["gdpr_test.user_profiles"].rows).toBe(50);
    expect(before["openfga_test.openfga_data"]).toMatchObject({ owner: "openfga_test_app", rows: 100 });
  });

  it("keeps every table and row through an up with this version, and user a logs in with the old password", async () => {
    stack.upgrade();
    await stack.up();
    // Every table keeps its owner, rows and contents; this version's newer
    // gdpr migrations may add tables and version rows.
    const after = await contents();
    for (const [table, was] of Object.entries(before)) {
      if (table === "gdpr_test.schema_migrations") {
        expect(after[table].rows, table).toBeGreaterThanOrEqual(was.rows);
      } else {
        expect(after[table], table).toEqual(was);
      }
    }

    const out = stack.outputs as unknown as Record<string, Record<string, unknown>>;
    expect(out.serviceRoles.gdpr).toBe("gdpr_test_app");
    expect(out.roles.gdpr).toBe("gdpr_test_app_a");
    for (const service of ["gdpr", "openfga", "keycloak"]) {
      const now = new URL(stack.outputs.connectionUris[service]);
      expect(now.password, service).toBe(new URL(oldUris[service]).password);
    }
    // The service role still owns what its login role created, and user a can change it.
    await run(
      stack.outputs.connectionUris.openfga,
      "ALTER TABLE openfga_data ADD COLUMN note text",
      "UPDATE openfga_data SET note = 'upgraded' WHERE id = 1",
    );
    const c = await connect(stack.outputs.connectionUris.gdpr);
    try {
      const { rows } = await c.query("SELECT count(*)::int AS n FROM user_profiles");
      expect(rows).toEqual([{ n: 50 }]);
    } finally {
      await c.end();
    }
  }, 300_000);

  it("changes nothing on a second up", async () => {
    await stack.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
  }, 120_000);

  it("keeps the old login working until the service's first rotation, which retires it", async () => {
    // Pods deployed before the upgrade still hold the login role's credentials.
    const c = await connect(oldUris.gdpr);
    try {
      const { rows } = await c.query("SELECT current_user AS u, count(*)::int AS n FROM user_profiles");
      expect(rows).toEqual([{ u: "gdpr_test_app", n: 50 }]);
    } finally {
      await c.end();
    }
    const userA = stack.outputs.connectionUris.gdpr;
    await stack.up({ config: { rotations: ["gdpr=1"] } });
    const err = await connect(oldUris.gdpr).then(
      (client) => client.end().then(() => undefined),
      (e: { code?: string; message: string }) => e,
    );
    expect(err?.code, err?.message).toBe("28000");
    // User a (the previous credentials) and user b (the new ones) log in.
    for (const uri of [userA, stack.outputs.connectionUris.gdpr])
      await run(uri, "SELECT 1 FROM user_profiles");
    // Services not rotated yet keep theirs.
    await run(oldUris.openfga, "SELECT 1 FROM openfga_data");
    const su = await stack.superuser();
    try {
      const { rows } = await su.query(
        "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'gdpr_test_app%' ORDER BY 1",
      );
      expect(rows).toEqual([
        { rolname: "gdpr_test_app", rolcanlogin: false },
        { rolname: "gdpr_test_app_a", rolcanlogin: true },
        { rolname: "gdpr_test_app_b", rolcanlogin: true },
      ]);
    } finally {
      await su.end();
    }
  }, 300_000);
});

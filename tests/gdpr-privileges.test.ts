/**
 * Least privilege inside gdpr, checked by connecting: the login role runs
 * every statement pattern of the application (consumers.md) and is refused
 * everything else; the audit trail is append-only even for the owner role;
 * tables of later migrations follow the same rules (default privileges).
 */
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMigrationFiles, readMigrationsDir, runMigrations } from "../components/schema/migration-runner";
import { startTestServer, TestServer } from "./helpers/pg-server";
import { createGdprDatabase, GdprDatabase } from "./helpers/gdpr-database";

let server: TestServer;
let db: GdprDatabase;
let app: Client;

const schema = readMigrationsDir(join(__dirname, "..", "migrations"));
const USER_TABLES = ["consent_records", "conversations", "user_preferences", "user_profiles"];

beforeAll(async () => {
  server = await startTestServer();
  db = await createGdprDatabase(server, "gdpr_test");
  await runMigrations({
    connection: db.connection(),
    ownerRole: db.ownerRole,
    loginRole: db.loginRole,
    migrations: schema,
  });
  app = new Client(db.connection("login"));
  await app.connect();
}, 120_000);

afterAll(async () => {
  await app?.end();
  server?.stop();
});

/**
 * Runs `fn` as the owner role: a superuser's session SET ROLE to it (the
 * admin has no standing membership; a session lets several refused
 * statements follow each other, which one transaction would not).
 */
async function asOwner<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await server.client(db.database);
  try {
    await c.query(`SET ROLE ${db.ownerRole}`);
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function newUser(id: string): Promise<void> {
  await app.query(
    "INSERT INTO user_profiles (user_id, username, email, full_name, metadata) VALUES ($1, $2, $3, $4, $5)",
    [id, `name-${id}`, `${id}@example.org`, "Full Name", { plan: "free" }],
  );
}

describe("the application's statements, as the login role", () => {
  it("user_profiles: insert, select, update (last_updated kept current), delete", async () => {
    await app.query(
      "INSERT INTO user_profiles (user_id, username, created_at, last_updated) VALUES ('u-prof', 'alice', now() - interval '1 day', now() - interval '1 day')",
    );
    const before = (await app.query("SELECT * FROM user_profiles WHERE user_id = $1", ["u-prof"])).rows[0];
    expect(before).toMatchObject({ username: "alice", email: null, metadata: {} });
    await app.query("UPDATE user_profiles SET email = $2, metadata = $3 WHERE user_id = $1", [
      "u-prof",
      "a@example.org",
      { locale: "de" },
    ]);
    const after = (await app.query("SELECT * FROM user_profiles WHERE user_id = $1", ["u-prof"])).rows[0];
    expect(after.email).toBe("a@example.org");
    expect(after.last_updated.getTime()).toBeGreaterThan(before.last_updated.getTime());
    expect(after.created_at).toEqual(before.created_at);
    expect((await app.query("DELETE FROM user_profiles WHERE user_id = $1", ["u-prof"])).rowCount).toBe(1);
  });

  it("user_preferences: upsert ON CONFLICT (user_id), updated_at kept current", async () => {
    await newUser("u-pref");
    const upsert =
      "INSERT INTO user_preferences (user_id, preferences) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET preferences = EXCLUDED.preferences";
    await app.query(upsert, ["u-pref", { theme: "dark" }]);
    await app.query(
      "UPDATE user_preferences SET updated_at = now() - interval '1 hour' WHERE user_id = 'u-pref'",
    );
    const first = (await app.query("SELECT * FROM user_preferences WHERE user_id = 'u-pref'")).rows[0];
    await app.query(upsert, ["u-pref", { theme: "light" }]);
    const second = (await app.query("SELECT * FROM user_preferences WHERE user_id = 'u-pref'")).rows[0];
    expect(second.preferences).toEqual({ theme: "light" });
    expect(second.updated_at.getTime()).toBeGreaterThan(first.updated_at.getTime());
    expect((await app.query("DELETE FROM user_preferences WHERE user_id = 'u-pref'")).rowCount).toBe(1);
  });

  it("consent_records: insert, by user and by (user, type) newest first, update, delete", async () => {
    await newUser("u-cons");
    const insert =
      "INSERT INTO consent_records (consent_id, user_id, consent_type, granted, timestamp, ip_address, user_agent, metadata) VALUES ($1, 'u-cons', $2, $3, now() - $4::interval, '192.0.2.1', 'ua', '{}')";
    await app.query(insert, ["c1", "analytics", true, "2 days"]);
    await app.query(insert, ["c2", "analytics", false, "1 day"]);
    await app.query(insert, ["c3", "marketing", true, "3 days"]);
    const byUser = await app.query(
      "SELECT consent_id FROM consent_records WHERE user_id = $1 ORDER BY timestamp DESC",
      ["u-cons"],
    );
    expect(byUser.rows.map((r) => r.consent_id)).toEqual(["c2", "c1", "c3"]);
    const latest = await app.query(
      "SELECT consent_id, granted FROM consent_records WHERE user_id = $1 AND consent_type = $2 ORDER BY timestamp DESC LIMIT 1",
      ["u-cons", "analytics"],
    );
    expect(latest.rows).toEqual([{ consent_id: "c2", granted: false }]);
    await app.query("UPDATE consent_records SET metadata = '{\"source\":\"ui\"}' WHERE consent_id = 'c3'");
    expect((await app.query("DELETE FROM consent_records WHERE user_id = 'u-cons'")).rowCount).toBe(3);
  });

  it("conversations: insert, list by user (newest activity first, nulls last), filter archived, update, delete", async () => {
    await newUser("u-conv");
    const insert =
      "INSERT INTO conversations (conversation_id, user_id, title, messages, last_message_at, archived, metadata) VALUES ($1, 'u-conv', $2, $3, $4, $5, '{}')";
    const now = Date.now();
    await app.query(insert, [
      "v1",
      "old",
      JSON.stringify([{ role: "user", content: "hi" }]),
      new Date(now + 1000),
      false,
    ]);
    await app.query(insert, ["v2", "new", "[]", new Date(now + 5000), true]);
    await app.query(insert, ["v3", "none", "[]", null, false]);
    const listed = await app.query(
      "SELECT conversation_id FROM conversations WHERE user_id = $1 ORDER BY last_message_at DESC NULLS LAST",
      ["u-conv"],
    );
    expect(listed.rows.map((r) => r.conversation_id)).toEqual(["v2", "v1", "v3"]);
    const active = await app.query(
      "SELECT conversation_id FROM conversations WHERE user_id = $1 AND archived = $2 ORDER BY last_message_at DESC NULLS LAST",
      ["u-conv", false],
    );
    expect(active.rows.map((r) => r.conversation_id)).toEqual(["v1", "v3"]);
    await app.query(
      "UPDATE conversations SET messages = messages || $2::jsonb, last_message_at = now() + interval '10 seconds', archived = true WHERE conversation_id = $1",
      ["v1", JSON.stringify([{ role: "assistant", content: "hello" }])],
    );
    expect(
      (
        await app.query(
          "SELECT jsonb_array_length(messages) AS n FROM conversations WHERE conversation_id = 'v1'",
        )
      ).rows,
    ).toEqual([{ n: 2 }]);
    expect((await app.query("DELETE FROM conversations WHERE user_id = 'u-conv'")).rowCount).toBe(3);
  });

  it("audit_logs: insert, query by user and time range newest first, anonymise user_id", async () => {
    const insert =
      "INSERT INTO audit_logs (log_id, user_id, action, resource_type, resource_id, timestamp, ip_address, user_agent, metadata) VALUES ($1, $2, $3, 'profile', 'p1', now() - $4::interval, '192.0.2.1', 'ua', '{}')";
    await app.query(insert, ["a1", "u-audit", "profile.read", "3 hours"]);
    await app.query(insert, ["a2", "u-audit", "profile.update", "1 hour"]);
    await app.query(insert, ["a3", "u-other", "profile.read", "1 hour"]);
    const range = await app.query(
      "SELECT log_id FROM audit_logs WHERE user_id = $1 AND timestamp >= now() - interval '4 hours' AND timestamp <= now() ORDER BY timestamp DESC",
      ["u-audit"],
    );
    expect(range.rows.map((r) => r.log_id)).toEqual(["a2", "a1"]);
    const anonymised = await app.query("UPDATE audit_logs SET user_id = 'anonymized' WHERE user_id = $1", [
      "u-audit",
    ]);
    expect(anonymised.rowCount).toBe(2);
    expect(
      (await app.query("SELECT count(*)::int AS n FROM audit_logs WHERE user_id = 'anonymized'")).rows,
    ).toEqual([{ n: 2 }]);
  });

  it("deleting a profile deletes its preferences, consents and conversations, and keeps its audit trail", async () => {
    await newUser("u-gone");
    await app.query("INSERT INTO user_preferences (user_id) VALUES ('u-gone')");
    await app.query(
      "INSERT INTO consent_records (consent_id, user_id, consent_type, granted) VALUES ('gc', 'u-gone', 'analytics', true)",
    );
    await app.query("INSERT INTO conversations (conversation_id, user_id) VALUES ('gv', 'u-gone')");
    await app.query(
      "INSERT INTO audit_logs (log_id, user_id, action) VALUES ('ga', 'u-gone', 'user.delete')",
    );
    await app.query("DELETE FROM user_profiles WHERE user_id = 'u-gone'");
    for (const table of ["user_preferences", "consent_records", "conversations"]) {
      expect(
        (await app.query(`SELECT count(*)::int AS n FROM ${table} WHERE user_id = 'u-gone'`)).rows,
        table,
      ).toEqual([{ n: 0 }]);
    }
    expect(
      (await app.query("SELECT count(*)::int AS n FROM audit_logs WHERE user_id = 'u-gone'")).rows,
    ).toEqual([{ n: 1 }]);
  });

  it("the ADR's health check finds the five tables", async () => {
    for (const table of [...USER_TABLES, "audit_logs"]) {
      expect(
        (await app.query("SELECT 1 FROM information_schema.tables WHERE table_name = $1", [table])).rowCount,
        table,
      ).toBe(1);
    }
  });
});

describe("what the login role is refused", () => {
  const refusals: [string, string, RegExp][] = [
    ["DELETE on audit_logs", "DELETE FROM audit_logs", /permission denied for table audit_logs/],
    [
      "UPDATE of another audit column",
      "UPDATE audit_logs SET action = 'forged'",
      /permission denied for table audit_logs/,
    ],
    ["TRUNCATE audit_logs", "TRUNCATE audit_logs", /permission denied for table audit_logs/],
    ["TRUNCATE consent_records", "TRUNCATE consent_records", /permission denied for table consent_records/],
    ["TRUNCATE user_profiles", "TRUNCATE user_profiles CASCADE", /permission denied for table user_profiles/],
    ["DROP TABLE", "DROP TABLE conversations", /must be owner of table conversations/],
    ["CREATE TABLE", "CREATE TABLE public.shadow (id int)", /permission denied for schema public/],
    [
      "CREATE FUNCTION",
      "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
      /permission denied for schema public/,
    ],
    ["ALTER TABLE", "ALTER TABLE user_profiles ADD COLUMN x int", /must be owner of table user_profiles/],
    ["DISABLE TRIGGER", "ALTER TABLE audit_logs DISABLE TRIGGER ALL", /must be owner of table audit_logs/],
    [
      "CREATE TRIGGER",
      "CREATE TRIGGER t BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION touch_updated_at()",
      /permission denied/,
    ],
    [
      "running the purge",
      "SELECT * FROM purge_expired_data()",
      /permission denied for function purge_expired_data/,
    ],
    ["the version table", "SELECT * FROM schema_migrations", /permission denied for table schema_migrations/],
  ];
  for (const [what, sql, error] of refusals) {
    it(what, async () => {
      await expect(app.query(sql)).rejects.toThrow(error);
    });
  }

  it("holds exactly the table privileges consumers.md describes", async () => {
    const rows = await app.query(
      "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) AS p FROM information_schema.role_table_grants WHERE grantee = current_user GROUP BY table_name ORDER BY table_name",
    );
    const expected = Object.fromEntries([
      ...USER_TABLES.map((t) => [t, "DELETE,INSERT,SELECT,UPDATE"]),
      ["audit_logs", "INSERT,SELECT"],
    ]);
    expect(Object.fromEntries(rows.rows.map((r) => [r.table_name, r.p]))).toEqual(expected);
    const columns = await app.query(
      "SELECT table_name, column_name FROM information_schema.column_privileges WHERE grantee = current_user AND privilege_type = 'UPDATE' AND table_name = 'audit_logs'",
    );
    expect(columns.rows).toEqual([{ table_name: "audit_logs", column_name: "user_id" }]);
  });
});

describe("constraints", () => {
  const violations: [string, string, RegExp][] = [
    [
      "empty username",
      "INSERT INTO user_profiles (user_id, username) VALUES ('x1', '  ')",
      /user_profiles_username_not_empty/,
    ],
    [
      "last_updated before created_at",
      "INSERT INTO user_profiles (user_id, username, created_at, last_updated) VALUES ('x2', 'n', now(), now() - interval '1 day')",
      /user_profiles_timestamps_ordered/,
    ],
    [
      "empty action",
      "INSERT INTO audit_logs (log_id, action) VALUES ('x3', '')",
      /audit_logs_action_not_empty/,
    ],
    [
      "empty consent_type",
      "INSERT INTO consent_records (consent_id, user_id, consent_type, granted) VALUES ('x4', 'u-const', '', true)",
      /consent_records_consent_type_not_empty/,
    ],
    [
      "messages not an array",
      "INSERT INTO conversations (conversation_id, user_id, messages) VALUES ('x5', 'u-const', '{}')",
      /conversations_messages_is_array/,
    ],
    [
      "last_message_at before created_at",
      "INSERT INTO conversations (conversation_id, user_id, last_message_at) VALUES ('x6', 'u-const', now() - interval '1 day')",
      /conversations_timestamps_ordered/,
    ],
    [
      "a consent of an unknown user",
      "INSERT INTO consent_records (consent_id, user_id, consent_type, granted) VALUES ('x7', 'nobody', 'analytics', true)",
      /consent_records_user_id_fkey/,
    ],
  ];
  beforeAll(async () => newUser("u-const"));
  for (const [what, sql, error] of violations) {
    it(`refuses ${what}`, async () => {
      await expect(app.query(sql)).rejects.toThrow(error);
    });
  }
});

describe("the append-only audit trail, even for the owner role", () => {
  beforeAll(async () => {
    await app.query("INSERT INTO audit_logs (log_id, user_id, action) VALUES ('guard1', 'u-guard', 'login')");
  });

  it("refuses UPDATE of anything but user_id", async () => {
    await asOwner(async (c) => {
      await expect(
        c.query("UPDATE audit_logs SET action = 'forged' WHERE log_id = 'guard1'"),
      ).rejects.toThrow("audit_logs is append-only: only user_id may change (log_id guard1)");
      await expect(
        c.query("UPDATE audit_logs SET timestamp = now() - interval '8 years' WHERE log_id = 'guard1'"),
      ).rejects.toThrow("only user_id may change");
    });
  });

  it("lets user_id change only to 'anonymized'", async () => {
    await expect(
      app.query("UPDATE audit_logs SET user_id = 'someone-else' WHERE log_id = 'guard1'"),
    ).rejects.toThrow("user_id may only be changed to 'anonymized' (log_id guard1)");
    await asOwner(async (c) => {
      await expect(
        c.query("UPDATE audit_logs SET user_id = 'someone-else' WHERE log_id = 'guard1'"),
      ).rejects.toThrow("user_id may only be changed to 'anonymized'");
      expect(
        (await c.query("UPDATE audit_logs SET user_id = 'anonymized' WHERE log_id = 'guard1'")).rowCount,
      ).toBe(1);
    });
  });

  it("refuses DELETE within the 7-year retention and TRUNCATE", async () => {
    await asOwner(async (c) => {
      await expect(c.query("DELETE FROM audit_logs WHERE log_id = 'guard1'")).rejects.toThrow(
        "audit_logs is append-only: log_id guard1 is within its retention of 7 years",
      );
      await expect(c.query("TRUNCATE audit_logs")).rejects.toThrow(
        "audit_logs is append-only: TRUNCATE is refused",
      );
    });
    expect(
      (await app.query("SELECT count(*)::int AS n FROM audit_logs WHERE log_id = 'guard1'")).rows,
    ).toEqual([{ n: 1 }]);
  });
});

describe("default privileges: a later migration's objects follow the same rules", () => {
  beforeAll(async () => {
    const next = String(schema[schema.length - 1].version + 1).padStart(3, "0");
    const later = parseMigrationFiles([
      {
        name: `${next}_later.sql`,
        content:
          "CREATE TABLE later_things (id bigserial PRIMARY KEY, note text);\nCREATE FUNCTION later_fn() RETURNS int LANGUAGE sql AS 'SELECT 1';\n",
      },
    ]);
    await runMigrations({
      connection: db.connection(),
      ownerRole: db.ownerRole,
      loginRole: db.loginRole,
      migrations: [...schema, ...later],
    });
  });

  it("the login role gets DML on the new table and its sequence, not TRUNCATE or DDL", async () => {
    await app.query("INSERT INTO later_things (note) VALUES ('a')");
    await app.query("UPDATE later_things SET note = 'b'");
    expect((await app.query("SELECT note FROM later_things")).rows).toEqual([{ note: "b" }]);
    expect((await app.query("DELETE FROM later_things")).rowCount).toBe(1);
    await expect(app.query("TRUNCATE later_things")).rejects.toThrow(
      /permission denied for table later_things/,
    );
    await expect(app.query("DROP TABLE later_things")).rejects.toThrow(/must be owner/);
  });

  it("a new function is not executable by PUBLIC", async () => {
    await expect(app.query("SELECT later_fn()")).rejects.toThrow(/permission denied for function later_fn/);
  });
});

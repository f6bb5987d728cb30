/**
 * The retention role on the real test stack, proven by connecting with its
 * password from the stack's secret outputs: it runs the GDPR purge (which
 * removes exactly what is past retention) and can do nothing else: no table,
 * no DDL, no other database. `make purge` runs the same call.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asService, config, currentRoleAttributes, outputs, pgError, ROOT, StackOutputs } from "./harness";

let out: StackOutputs;
const gdpr = config().services.find((s) => s.name === "gdpr")!;

async function asRetention(database?: string): Promise<Client> {
  const url = new URL((out.retentionUris as Record<string, string>).gdpr);
  if (database) url.pathname = `/${database}`;
  const c = new Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 });
  c.on("error", () => undefined);
  await c.connect();
  return c;
}

const SEEDED = ["e2e-retention-stale", "e2e-retention-recent"];

beforeAll(async () => {
  out = outputs();
  // Rows the application writes (as its login role): one conversation past
  // the 90 days of inactivity, one within them.
  const app = await asService("gdpr");
  try {
    await app.query(
      "INSERT INTO user_profiles (user_id, username) VALUES ('e2e-retention', 'e2e-retention') ON CONFLICT DO NOTHING",
    );
    const conv =
      "INSERT INTO conversations (conversation_id, user_id, created_at, last_message_at) VALUES ($1, 'e2e-retention', now() - interval '200 days', now() - $2::interval)";
    await app.query(conv, [SEEDED[0], "91 days"]);
    await app.query(conv, [SEEDED[1], "89 days"]);
  } finally {
    await app.end();
  }
});

afterAll(async () => {
  // Leave gdpr_test as the suite found it (the profile cascades to its conversations).
  const app = await asService("gdpr");
  await app.query("DELETE FROM user_profiles WHERE user_id = 'e2e-retention'");
  await app.end();
});

describe("retention role", () => {
  it("is the ADR-named LOGIN role with no attribute, no membership, connection limit 2", async () => {
    expect(out.retentionRoles).toEqual({ gdpr: gdpr.retentionRole });
    expect(gdpr.retentionRole).toBe("gdpr_test_retention");
    const c = await asRetention();
    const attributes = await currentRoleAttributes(c);
    await c.end();
    expect(attributes).toEqual({
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolreplication: false,
      rolbypassrls: false,
      rolconnlimit: 2,
      member_of: [],
    });
  });

  it("runs the purge, which removes the stale conversation and keeps the recent one", async () => {
    const c = await asRetention();
    const res = await c.query("SELECT table_name, rows_deleted FROM purge_expired_data()");
    await c.end();
    const removed = Object.fromEntries(res.rows.map((r) => [r.table_name, Number(r.rows_deleted)]));
    expect(Object.keys(removed).sort()).toEqual(["audit_logs", "consent_records", "conversations"]);
    expect(removed.conversations).toBeGreaterThanOrEqual(1);
    const app = await asService("gdpr");
    const left = await app.query(
      "SELECT conversation_id FROM conversations WHERE conversation_id = ANY($1) ORDER BY 1",
      [SEEDED],
    );
    await app.end();
    expect(left.rows.map((r) => r.conversation_id)).toEqual(["e2e-retention-recent"]);
  });

  it("may not read, write or change any table, nor create one", async () => {
    const c = await asRetention();
    const attempts = [
      "SELECT * FROM user_profiles",
      "SELECT * FROM conversations",
      "SELECT * FROM schema_migrations",
      "DELETE FROM conversations",
      "INSERT INTO audit_logs (log_id, user_id, action) VALUES ('x', 'x', 'x')",
      "TRUNCATE audit_logs",
      "CREATE TABLE retention_scratch (id int)",
      "CREATE TEMP TABLE retention_scratch (id int)",
    ];
    for (const sql of attempts) {
      const err = await pgError(() => c.query(sql));
      expect(err, sql).toBeDefined();
      expect(err!.code, `${sql}: ${err!.message}`).toBe("42501"); // insufficient_privilege
    }
    await c.end();
  });

  it("is refused on every other database", async () => {
    const others = [
      ...config()
        .services.filter((s) => s.name !== "gdpr")
        .map((s) => s.database),
      "postgres",
      "template1",
    ];
    for (const db of others) {
      const err = await pgError(async () => (await asRetention(db)).end());
      expect(err, db).toBeDefined();
      expect(err!.message).toContain(`permission denied for database "${db}"`);
    }
  });

  it("the application's login role still may not run the purge", async () => {
    const app = await asService("gdpr");
    const err = await pgError(() => app.query("SELECT * FROM purge_expired_data()"));
    await app.end();
    expect(err?.message).toMatch(/permission denied for function purge_expired_data/);
  });

  it("`make purge STACK=test` runs it as the retention role and prints the counts per table", () => {
    const res = spawnSync(join(ROOT, "node_modules/.bin/tsx"), ["scripts/purge.ts", "test", "--json"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(res.status, res.stderr).toBe(0);
    // Already purged above: nothing is past retention now.
    expect(JSON.parse(res.stdout)).toEqual({ conversations: 0, consent_records: 0, audit_logs: 0 });
    expect(res.stdout + res.stderr).not.toContain(
      new URL((out.retentionUris as Record<string, string>).gdpr).password,
    );
  });
});

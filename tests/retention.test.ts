/**
 * ADR-0060 retention: purge_expired_data(), run by the owner role, removes
 * conversations past 90 days of inactivity, superseded consent records and
 * audit logs past 7 years, and reports the rows it removed per table.
 */
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readMigrationsDir, runMigrations } from "../components/schema/migration-runner";
import { startTestServer, TestServer } from "./helpers/pg-server";
import { createGdprDatabase, GdprDatabase } from "./helpers/gdpr-database";

let server: TestServer;
let db: GdprDatabase;
let app: Client;

beforeAll(async () => {
  server = await startTestServer();
  db = await createGdprDatabase(server, "gdpr_test");
  await runMigrations({
    connection: db.connection(),
    ownerRole: db.ownerRole,
    loginRole: db.loginRole,
    migrations: readMigrationsDir(join(__dirname, "..", "migrations")),
  });
  app = new Client(db.connection("login"));
  await app.connect();

  // Rows are written by the application (login role) with past timestamps.
  await app.query(
    "INSERT INTO user_profiles (user_id, username, created_at, last_updated) VALUES ('u1', 'u1', now() - interval '9 years', now())",
  );
  const conv =
    "INSERT INTO conversations (conversation_id, user_id, created_at, last_message_at) VALUES ($1, 'u1', now() - $2::interval, now() - $3::interval)";
  await app.query(conv, ["conv-stale", "200 days", "91 days"]);
  await app.query(conv, ["conv-recent-activity", "200 days", "89 days"]);
  await app.query(conv, ["conv-stale-never-used", "91 days", null]);
  await app.query(conv, ["conv-new-never-used", "10 days", null]);

  const consent =
    "INSERT INTO consent_records (consent_id, user_id, consent_type, granted, timestamp) VALUES ($1, 'u1', $2, $3, now() - $4::interval)";
  await app.query(consent, ["analytics-8y", "analytics", true, "8 years"]); // superseded, past 7 years
  await app.query(consent, ["analytics-6y", "analytics", false, "6 years"]); // superseded, within 7 years
  await app.query(consent, ["analytics-1y", "analytics", true, "1 year"]); // in force
  await app.query(consent, ["marketing-8y", "marketing", true, "8 years"]); // old, but still the consent in force

  const audit =
    "INSERT INTO audit_logs (log_id, user_id, action, timestamp) VALUES ($1, 'u1', 'x', now() - $2::interval)";
  await app.query(audit, ["audit-7y-plus", "7 years 1 day"]);
  await app.query(audit, ["audit-7y-minus", "7 years -1 day"]);
  await app.query(audit, ["audit-recent", "1 hour"]);
}, 120_000);

afterAll(async () => {
  await app?.end();
  server?.stop();
});

/**
 * Runs the purge the way migrations/README.md tells a scheduler to: as the
 * stack's admin, which keeps no membership in the owner role, so it grants
 * itself the role for one transaction and takes it back before committing.
 */
async function purge(): Promise<Record<string, number>> {
  const c = new Client(db.connection());
  await c.connect();
  try {
    await c.query("BEGIN");
    await c.query(`GRANT ${db.ownerRole} TO CURRENT_USER`);
    await c.query(`SET LOCAL ROLE ${db.ownerRole}`);
    const res = await c.query("SELECT table_name, rows_deleted FROM purge_expired_data()");
    await c.query("RESET ROLE");
    await c.query(`REVOKE ${db.ownerRole} FROM CURRENT_USER`);
    await c.query("COMMIT");
    return Object.fromEntries(res.rows.map((r) => [r.table_name, Number(r.rows_deleted)]));
  } finally {
    await c.end();
  }
}

const ids = async (table: string, column: string) =>
  (await app.query(`SELECT ${column} AS id FROM ${table} ORDER BY 1`)).rows.map((r) => r.id);

describe("purge_expired_data()", () => {
  it("removes what is past retention, reports the count per table, and keeps the rest", async () => {
    expect(await purge()).toEqual({ conversations: 2, consent_records: 1, audit_logs: 1 });
    expect(await ids("conversations", "conversation_id")).toEqual([
      "conv-new-never-used",
      "conv-recent-activity",
    ]);
    expect(await ids("consent_records", "consent_id")).toEqual([
      "analytics-1y",
      "analytics-6y",
      "marketing-8y",
    ]);
    expect(await ids("audit_logs", "log_id")).toEqual(["audit-7y-minus", "audit-recent"]);
    expect(await ids("user_profiles", "user_id")).toEqual(["u1"]);
  });

  it("a second run removes nothing", async () => {
    expect(await purge()).toEqual({ conversations: 0, consent_records: 0, audit_logs: 0 });
  });

  it("the login role may not run it", async () => {
    await expect(app.query("SELECT * FROM purge_expired_data()")).rejects.toThrow(
      /permission denied for function/,
    );
  });

  it("table comments state the retention", async () => {
    const res = await app.query(
      "SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname <> 'schema_migrations' ORDER BY 1",
    );
    const comments = Object.fromEntries(res.rows.map((r) => [r.relname, r.comment as string]));
    expect(comments.conversations).toMatch(/Retention: 90 days/);
    expect(comments.consent_records).toMatch(/Retention: 7 years/);
    expect(comments.audit_logs).toMatch(/retention 7 years/);
    expect(comments.user_profiles).toMatch(/Retention: until an erasure request/);
    expect(comments.user_preferences).toMatch(/Retention: with the profile/);
  });
});

/**
 * GDPR erasures survive a restore (migrations/003_erasure_log.sql,
 * scripts/backup/erasures.ts), on a server the program provisioned: back up,
 * erase a user as the application does, restore: the user is gone from the
 * restored copy, its audit rows anonymized; the same when the live database
 * is gone and only the log's copies in the backup destination remain. The log
 * itself: written in the erasing transaction, no identifier in clear,
 * append-only, out of the application's reach.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missingErasures } from "../scripts/backup/erasures";
import { backupCli, clientAs, pgClientBin } from "./helpers/backup-cli";
import { ProgramStack, sql, startProgramStack } from "./helpers/program-stack";

let stack: ProgramStack;
let pgClientBinDir: string;

function cli(...args: string[]) {
  return backupCli(stack, { PG_CLIENT_BIN: pgClientBinDir }, args);
}

const subject = (userId: string) => createHash("sha256").update(userId, "utf8").digest("hex");

async function rows(database: string, query: string): Promise<unknown[]> {
  const c = await stack.superuser(database);
  try {
    return (await c.query(query)).rows;
  } finally {
    await c.end();
  }
}

/** The application's erasure (consumers.md), as its login role. */
async function erase(userId: string) {
  const app = await clientAs(stack, stack.outputs.connectionUris.gdpr);
  try {
    await app.query("BEGIN");
    await app.query("DELETE FROM user_profiles WHERE user_id = $1", [userId]);
    await app.query("UPDATE audit_logs SET user_id = 'anonymized' WHERE user_id = $1", [userId]);
    await app.query("COMMIT");
  } finally {
    await app.end();
  }
}

function latestBackup(): string {
  const dir = join(stack.root, ".local", "backups", stack.name, "gdpr_test");
  return readdirSync(dir)
    .filter((d) => /^\d{8}T\d{6}Z$/.test(d))
    .sort()
    .pop() as string;
}

beforeAll(async () => {
  pgClientBinDir = pgClientBin();
  stack = await startProgramStack();
  await sql(
    clientAs(stack, stack.outputs.connectionUris.gdpr),
    "INSERT INTO user_profiles (user_id, username) VALUES ('early', 'e'), ('ada', 'a'), ('bob', 'b'), ('cy', 'c')",
    "INSERT INTO conversations (conversation_id, user_id) VALUES ('k1', 'ada'), ('k2', 'bob')",
    "INSERT INTO audit_logs (log_id, user_id, action) VALUES ('l1', 'ada', 'login'), ('l2', 'bob', 'login')",
  );
  // Erased before the backup: in the backup's own log, so not re-applied.
  await erase("early");
}, 300_000);

afterAll(() => stack?.stop());

describe("the erasure log", () => {
  it("records a deletion of a profile in the same transaction, by the sha256 of the user id only", async () => {
    expect(await rows("gdpr_test", "SELECT subject_sha256 FROM erasure_log")).toEqual([
      { subject_sha256: subject("early") },
    ]);
    // A rolled-back erasure leaves no entry.
    const app = await clientAs(stack, stack.outputs.connectionUris.gdpr);
    try {
      await app.query("BEGIN");
      await app.query("DELETE FROM user_profiles WHERE user_id = 'cy'");
      await app.query("ROLLBACK");
    } finally {
      await app.end();
    }
    expect(await rows("gdpr_test", "SELECT count(*)::int AS n FROM erasure_log")).toEqual([{ n: 1 }]);
  });

  it("is out of the application's reach, and append-only even for its owner", async () => {
    const app = await clientAs(stack, stack.outputs.connectionUris.gdpr);
    try {
      for (const q of [
        "SELECT * FROM erasure_log",
        "INSERT INTO erasure_log (subject_sha256) VALUES (repeat('0', 64))",
        "DELETE FROM erasure_log",
      ]) {
        await expect(app.query(q)).rejects.toThrow(/permission denied for table erasure_log/);
      }
      await expect(
        app.query("SELECT replay_erasure(gen_random_uuid(), repeat('0', 64), now())"),
      ).rejects.toThrow(/permission denied for function replay_erasure/);
    } finally {
      await app.end();
    }
    const su = await stack.superuser("gdpr_test");
    try {
      await expect(su.query("DELETE FROM erasure_log")).rejects.toThrow(
        "erasure_log is append-only: DELETE is refused",
      );
      await expect(su.query("TRUNCATE erasure_log")).rejects.toThrow(
        "erasure_log is append-only: TRUNCATE is refused",
      );
      await expect(su.query("UPDATE erasure_log SET erased_at = now()")).rejects.toThrow(
        "erasure_log is append-only: UPDATE is refused",
      );
    } finally {
      await su.end();
    }
  });

  it("merges the sources: what the restored copy lacks, once each, oldest first", () => {
    const e = (id: string, at: string) => ({ erasureId: id, subject: "s", erasedAt: at });
    expect(
      missingErasures(
        [e("a", "2026-01-01T00:00:00.000Z")],
        [e("a", "2026-01-01T00:00:00.000Z"), e("c", "2026-01-03T00:00:00.000Z")],
        [e("b", "2026-01-02T00:00:00.000Z"), e("c", "2026-01-03T00:00:00.000Z")],
      ).map((x) => x.erasureId),
    ).toEqual(["b", "c"]);
  });
});

describe("a restore does not bring erased people back", () => {
  it("back up, erase a user, restore: the user is gone from the restored copy, audit rows anonymized", async () => {
    const backup = cli("backup", stack.name, "--service", "gdpr");
    expect(backup.stderr).toBe("");
    expect(backup.status).toBe(0);
    await erase("ada");

    const res = cli("restore", stack.name, "--service", "gdpr", "--into", "gdpr_after_erasure");
    expect(res.stderr).toBe("");
    expect(res.stdout).toMatch(/restored into gdpr_after_erasure; verified: /);
    expect(res.stdout).toContain(
      "gdpr_after_erasure: re-applied 1 GDPR erasure recorded after the backup (1 profile deleted)\n",
    );
    expect(res.status).toBe(0);
    const db = "gdpr_after_erasure";
    expect(await rows(db, "SELECT user_id FROM user_profiles ORDER BY 1")).toEqual([
      { user_id: "bob" },
      { user_id: "cy" },
    ]);
    expect(await rows(db, "SELECT conversation_id FROM conversations")).toEqual([{ conversation_id: "k2" }]);
    expect(await rows(db, "SELECT log_id, user_id FROM audit_logs ORDER BY 1")).toEqual([
      { log_id: "l1", user_id: "anonymized" },
      { log_id: "l2", user_id: "bob" },
    ]);
    // The restored copy's log now holds the live log's entries, the same ids, no duplicate.
    expect(await rows(db, "SELECT erasure_id, subject_sha256 FROM erasure_log ORDER BY erased_at")).toEqual(
      await rows("gdpr_test", "SELECT erasure_id, subject_sha256 FROM erasure_log ORDER BY erased_at"),
    );
  });

  it("with the live database gone, replays from the log's copies in the backup destination", async () => {
    const id = latestBackup();
    await erase("bob");
    const copy = cli("erasures", stack.name, "--service", "gdpr");
    expect(copy.stderr).toBe("");
    expect(copy.stdout).toMatch(
      /^gdpr_test: erasure log \(3 entries\) copied to .*\/gdpr_test\/erasures\/\d{8}T\d{6}Z\.json\n$/,
    );
    const again = cli("erasures", stack.name, "--service", "gdpr");
    expect(again.stdout).toMatch(/^gdpr_test: erasure log \(3 entries\) unchanged since its last copy in /);
    // The copy holds digests and times only.
    const folder = join(stack.root, ".local", "backups", stack.name, "gdpr_test", "erasures");
    const text = readdirSync(folder)
      .map((f) => readFileSync(join(folder, f), "utf8"))
      .join("\n");
    expect(text).toContain(subject("bob"));
    expect(text).not.toMatch(/"(ada|bob|early)"/);

    await sql(stack.superuser("postgres"), "DROP DATABASE gdpr_test WITH (FORCE)");
    const res = cli("restore", stack.name, "--service", "gdpr", "--backup", id, "--into", "gdpr_after_loss");
    expect(res.stdout).toContain(
      "gdpr_after_loss: re-applied 2 GDPR erasures recorded after the backup (2 profiles deleted)\n",
    );
    expect(res.stderr).toMatch(/^restore: warning: the live gdpr_test's erasure log could not be read/);
    expect(res.status).toBe(0);
    expect(await rows("gdpr_after_loss", "SELECT user_id FROM user_profiles")).toEqual([{ user_id: "cy" }]);
  });
});

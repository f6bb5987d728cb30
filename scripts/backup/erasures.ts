/**
 * GDPR erasures that a restore must not undo (docs/backup.md, migrations/003_erasure_log.sql).
 *
 * A database whose migrations define `public.erasure_log` and
 * `public.replay_erasure(uuid, text, timestamptz)` (gdpr) records every
 * erasure in the log, in the erasing transaction. Copies of the log go to the
 * backup destination as `<database>/erasures/<id>.json`: with every backup
 * (its snapshot's log) and whenever `make backup-erasures` runs (the
 * CronJob's schedule), written only when the log grew. The log is append-only,
 * so the newest copy holds every earlier entry.
 *
 * A restore re-applies what the restored copy's log lacks, taken from the
 * live database's log (when it is still there) and the newest copy in the
 * destination (when it is not), oldest first.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "pg";
import type { BackupStore, Retention } from "./store";

export interface Erasure {
  erasureId: string;
  /** Hex sha256 of the erased user_id: the log holds no identifier in clear. */
  subject: string;
  erasedAt: string;
}

export interface ErasureExport {
  format: 1;
  database: string;
  exportedAt: string;
  erasures: Erasure[];
}

const FOLDER = "erasures";

/** Whether the connected database keeps an erasure log. */
export async function hasErasureLog(client: Client): Promise<boolean> {
  const { rows } = await client.query(
    "SELECT to_regclass('public.erasure_log') IS NOT NULL AS log, to_regprocedure('public.replay_erasure(uuid, text, timestamptz)') IS NOT NULL AS replay",
  );
  return rows[0].log && rows[0].replay;
}

/** The log's entries, oldest first ([] when the database keeps none). */
export async function readErasures(client: Client): Promise<Erasure[]> {
  if (!(await hasErasureLog(client))) return [];
  const { rows } = await client.query<{ erasure_id: string; subject_sha256: string; erased_at: Date }>(
    "SELECT erasure_id::text, subject_sha256, erased_at FROM public.erasure_log ORDER BY erased_at, erasure_id",
  );
  return rows.map((r) => ({
    erasureId: r.erasure_id,
    subject: r.subject_sha256,
    erasedAt: r.erased_at.toISOString(),
  }));
}

/** The newest copy of `database`'s log in the destination, or undefined. */
export async function newestExport(store: BackupStore, database: string): Promise<ErasureExport | undefined> {
  const keys = (await store.list(`${database}/${FOLDER}/`)).filter((k) => k.endsWith(".json")).sort();
  if (keys.length === 0) return undefined;
  const key = keys[keys.length - 1];
  const parsed = JSON.parse(await store.read(key)) as ErasureExport;
  if (parsed.format !== 1 || !Array.isArray(parsed.erasures)) {
    throw new Error(`${store.where}/${key}: not an erasure log copy of format 1`);
  }
  return parsed;
}

/**
 * Writes the log to `<database>/erasures/<id>.json` unless the newest copy
 * there holds every entry already; returns whether it wrote.
 */
export async function exportErasures(
  store: BackupStore,
  database: string,
  erasures: readonly Erasure[],
  id: string,
  retention: Retention,
): Promise<boolean> {
  const have = new Set((await newestExport(store, database))?.erasures.map((e) => e.erasureId) ?? []);
  if (erasures.every((e) => have.has(e.erasureId))) return false;
  const body: ErasureExport = {
    format: 1,
    database,
    exportedAt: new Date().toISOString(),
    erasures: [...erasures],
  };
  const tmp = mkdtempSync(join(tmpdir(), "erasures-"));
  try {
    const file = join(tmp, `${id}.json`);
    writeFileSync(file, JSON.stringify(body, null, 2) + "\n");
    await store.put(`${database}/${FOLDER}/${id}.json`, file, retention);
    return true;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The entries of `sources` that `restored` lacks, deduplicated, oldest first. */
export function missingErasures(
  restored: readonly Erasure[],
  ...sources: readonly (readonly Erasure[])[]
): Erasure[] {
  const seen = new Set(restored.map((e) => e.erasureId));
  const out: Erasure[] = [];
  for (const e of sources.flat()) {
    if (seen.has(e.erasureId)) continue;
    seen.add(e.erasureId);
    out.push(e);
  }
  return out.sort((a, b) => a.erasedAt.localeCompare(b.erasedAt) || a.erasureId.localeCompare(b.erasureId));
}

/** Re-applies `erasures` on the restored copy in one transaction; returns the profiles deleted. */
export async function replayErasures(client: Client, erasures: readonly Erasure[]): Promise<number> {
  let deleted = 0;
  await client.query("BEGIN");
  try {
    for (const e of erasures) {
      const { rows } = await client.query<{ n: number }>(
        "SELECT public.replay_erasure($1::uuid, $2, $3::timestamptz) AS n",
        [e.erasureId, e.subject, e.erasedAt],
      );
      deleted += rows[0].n;
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
  return deleted;
}

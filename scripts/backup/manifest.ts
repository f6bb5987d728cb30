/**
 * A backup's manifest: what the dump holds, table by table (row count and a
 * checksum of the rows), read in the same snapshot pg_dump dumps, so that a
 * restore can be verified against it. The checksum is order-independent: the
 * md5 of the sorted md5s of each row's text form.
 */
import type { Client } from "pg";

export const MANIFEST_FORMAT = 1;

export interface TableEntry {
  schema: string;
  name: string;
  rows: number;
  /** md5 of the sorted md5s of the rows' text (`t::text`); "" for an empty table. */
  checksum: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  /** Backup id: the UTC time it was taken, `YYYYMMDDTHHMMSSZ`. */
  id: string;
  stack: string;
  service: string;
  database: string;
  createdAt: string;
  /** Server version (server_version_num) and the pg_dump that wrote the dump. */
  serverVersionNum: number;
  pgDump: string;
  /** The dump file beside the manifest, pg_dump's custom format, and its sha256. */
  dump: { file: string; format: "custom"; bytes: number; sha256: string };
  /** The service's policy when it was taken. */
  retentionDays: number;
  expiresAt: string;
  tables: TableEntry[];
}

const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

/** Every ordinary and partitioned table outside the system schemas, with rows and checksums. */
export async function readTables(client: Client): Promise<TableEntry[]> {
  const { rows } = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
      ORDER BY 1, 2`,
  );
  const out: TableEntry[] = [];
  for (const t of rows) {
    const rel = `${quote(t.schema)}.${quote(t.name)}`;
    const res = await client.query<{ rows: string; checksum: string | null }>(
      `SELECT count(*) AS rows, md5(string_agg(h, '' ORDER BY h)) AS checksum
         FROM (SELECT md5(x::text) AS h FROM ${rel} x) s`,
    );
    out.push({ ...t, rows: Number(res.rows[0].rows), checksum: res.rows[0].checksum ?? "" });
  }
  return out;
}

/** The differences between the manifest's tables and what a database holds; empty when they match. */
export function compareTables(expected: readonly TableEntry[], actual: readonly TableEntry[]): string[] {
  const key = (t: TableEntry) => `${t.schema}.${t.name}`;
  const got = new Map(actual.map((t) => [key(t), t]));
  const problems: string[] = [];
  for (const t of expected) {
    const a = got.get(key(t));
    if (!a) problems.push(`${key(t)}: missing (manifest: ${t.rows} rows)`);
    else if (a.rows !== t.rows) problems.push(`${key(t)}: ${a.rows} rows, manifest ${t.rows}`);
    else if (a.checksum !== t.checksum)
      problems.push(`${key(t)}: checksum ${a.checksum}, manifest ${t.checksum}`);
    got.delete(key(t));
  }
  for (const k of got.keys()) problems.push(`${k}: not in the manifest`);
  return problems;
}

/** `2026-12-01T20:23:05.123Z` → `20261201T202305Z`. */
export function backupId(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/** Checks a manifest read from a destination; throws naming what is wrong. */
export function parseManifest(text: string, where: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new Error(`${where}: the manifest is not JSON`);
  }
  if (m.format !== MANIFEST_FORMAT || !Array.isArray(m.tables) || typeof m.dump?.file !== "string") {
    throw new Error(`${where}: not a backup manifest of format ${MANIFEST_FORMAT}`);
  }
  return m;
}

/**
 * Taking a backup of one database (make backup, and the cluster's backup
 * CronJob through `backup --from-env`): as its backup role, in one REPEATABLE
 * READ snapshot, the manifest (every table, its row count and checksum) is
 * read, then pg_dump (custom format, the server's major) dumps that same
 * snapshot (--snapshot); the dump and then the manifest go to the service's
 * destination (store.ts), with a copy of the GDPR erasure log (erasures.ts).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import type { BackupPolicy } from "../../components/config/stack-config";
import { clientConfigFromUri } from "../check";
import { backupId, Manifest, MANIFEST_FORMAT, readTables } from "./manifest";
import { exportErasures, hasErasureLog, readErasures } from "./erasures";
import { MANIFEST, storeFor } from "./store";

/** What a backup needs to know of its service (a ServiceConfig, or the job's flags). */
export interface BackupSubject {
  name: string;
  database: string;
  backup: Pick<BackupPolicy, "retention" | "retentionDays" | "destination" | "locked">;
}

/** The folder with pg_dump and pg_restore: PG_CLIENT_BIN, else scripts/ensure-pg-client.sh's. */
export function pgClientBin(root: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.PG_CLIENT_BIN) return env.PG_CLIENT_BIN;
  const res = spawnSync(join(root, "scripts", "ensure-pg-client.sh"), { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`scripts/ensure-pg-client.sh failed:\n${res.stderr}`);
  return res.stdout.trim().split("\n").pop() as string;
}

/** A URI without its password, and the password (libpq's PGPASSWORD): never on a command line. */
export function splitPassword(uri: string): { uri: string; env: NodeJS.ProcessEnv } {
  const url = new URL(uri);
  const password = decodeURIComponent(url.password);
  url.password = "";
  return { uri: url.toString(), env: { PGPASSWORD: password } };
}

export function runTool(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const res = spawnSync(bin, args, { encoding: "utf8", env: { ...process.env, ...env } });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`${bin.split("/").pop()} exited ${res.status}: ${res.stderr.trim()}`);
  return res.stdout;
}

/** The file's sha256, read as a stream (a dump need not fit in memory). */
export async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The retention every object of a backup taken `at` is uploaded with. */
function retentionOf(svc: BackupSubject, at: Date) {
  return {
    retainUntil: new Date(at.getTime() + svc.backup.retentionDays * 86_400_000),
    locked: svc.backup.locked,
  };
}

/**
 * Takes one backup of one service as the role of `uri`; returns its manifest.
 * `root` is the project root (the `local` destination, the pg client script).
 */
export async function backupService(
  stack: string,
  svc: BackupSubject,
  uri: string,
  opts: { root: string; at?: Date; env?: NodeJS.ProcessEnv },
): Promise<Manifest> {
  const at = opts.at ?? new Date();
  const env = opts.env ?? process.env;
  const bin = pgClientBin(opts.root, env);
  const store = storeFor(svc.backup.destination, stack, opts.root, env);
  const id = backupId(at);
  const tmp = mkdtempSync(join(tmpdir(), "backup-"));
  const client = new Client({ ...clientConfigFromUri(uri, "backupUri"), application_name: "make-backup" });
  await client.connect();
  try {
    const version = Number((await client.query("SHOW server_version_num")).rows[0].server_version_num);
    const pgDump = runTool(join(bin, "pg_dump"), ["--version"]).trim();
    const clientMajor = Number(/(\d+)\.\d+/.exec(pgDump)?.[1]);
    if (Math.floor(version / 10000) > clientMajor) {
      throw new Error(
        `${svc.database} runs PostgreSQL ${Math.floor(version / 10000)}, newer than ${pgDump}: pin PG_CLIENT_VERSION to the server's major`,
      );
    }
    // One snapshot for the manifest and the dump.
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const snapshot = (await client.query("SELECT pg_export_snapshot() AS s")).rows[0].s as string;
    const tables = await readTables(client);
    const erasures = await readErasures(client);
    const file = `${svc.database}.dump`;
    const conn = splitPassword(uri);
    runTool(
      join(bin, "pg_dump"),
      [
        "--format=custom",
        `--snapshot=${snapshot}`,
        "--no-password",
        `--file=${join(tmp, file)}`,
        `--dbname=${conn.uri}`,
      ],
      conn.env,
    );
    await client.query("COMMIT");
    const retention = retentionOf(svc, at);
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      id,
      stack,
      service: svc.name,
      database: svc.database,
      createdAt: at.toISOString(),
      serverVersionNum: version,
      pgDump,
      dump: {
        file,
        format: "custom",
        bytes: statSync(join(tmp, file)).size,
        sha256: await sha256(join(tmp, file)),
      },
      retentionDays: svc.backup.retentionDays,
      expiresAt: retention.retainUntil.toISOString(),
      tables,
    };
    writeFileSync(join(tmp, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
    await store.put(`${svc.database}/${id}/${file}`, join(tmp, file), retention);
    await store.put(`${svc.database}/${id}/${MANIFEST}`, join(tmp, MANIFEST), retention);
    await exportErasures(store, svc.database, erasures, id, retention);
    return manifest;
  } finally {
    await client.end().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The line make backup (and the job) prints for a backup taken. */
export function backupLine(svc: BackupSubject, m: Manifest, where: string): string {
  const rows = m.tables.reduce((n, t) => n + t.rows, 0);
  return (
    `${svc.database}: backup ${m.id} (${m.tables.length} tables, ${rows} rows, ${m.dump.bytes} bytes) ` +
    `in ${where}; kept ${svc.backup.retention} until ${m.expiresAt.slice(0, 10)}`
  );
}

/** Copies one service's erasure log to its destination (make backup-erasures); a line to print, or "". */
export async function copyErasureLog(
  stack: string,
  svc: BackupSubject,
  uri: string,
  root: string,
): Promise<string> {
  const client = new Client({ ...clientConfigFromUri(uri, "backupUri"), application_name: "make-backup" });
  await client.connect();
  try {
    if (!(await hasErasureLog(client))) return "";
    const erasures = await readErasures(client);
    const store = storeFor(svc.backup.destination, stack, root);
    const at = new Date();
    const wrote = await exportErasures(store, svc.database, erasures, backupId(at), retentionOf(svc, at));
    return wrote
      ? `${svc.database}: erasure log (${erasures.length} entries) copied to ${store.where}/${svc.database}/erasures/${backupId(at)}.json`
      : `${svc.database}: erasure log (${erasures.length} entries) unchanged since its last copy in ${store.where}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Logical backups per database and restores proven against their manifest
 * (docs/backup.md).
 *
 *   make backup STACK=test [SERVICE=gdpr]
 *   make restore STACK=test SERVICE=gdpr [BACKUP=<id>] [INTO=<database>]
 *   tsx scripts/backup.ts backup <stack> [--service S]
 *   tsx scripts/backup.ts restore <stack> --service S [--backup ID] [--into DB] [--json]
 *   tsx scripts/backup.ts erasures <stack> [--service S]   (make backup-erasures)
 *
 * Backup: as the service's backup role (the stack's secret output
 * backupUris), in one REPEATABLE READ snapshot: the manifest (every table,
 * its row count and checksum) is read, then pg_dump (custom format, the
 * servers' major, scripts/ensure-pg-client.sh) dumps that same snapshot
 * (--snapshot). The dump and then the manifest go to the service's
 * destination (scripts/backup/store.ts).
 *
 * Restore: as the stack's admin, into a fresh database (never over a live
 * one; by default `<database>_restore_<id>`, refused if it exists), CONNECT
 * revoked from PUBLIC first; pg_restore --no-owner --no-acl; then every
 * table's row count and checksum is compared with the manifest, and the
 * result said; then the GDPR erasures recorded after the backup are
 * re-applied (scripts/backup/erasures.ts). Exit status: 0 done (and
 * verified), 1 failed or mismatch, 2 usage.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "pg";
import type { ServiceConfig, StackConfig } from "../components/config/stack-config";
import { postgresUri } from "../components/server/connection";
import { clientConfigFromUri, UsageError } from "./check";
import { readStackOutputs } from "./helm-values";
import { stackConfig } from "./local-server";
import {
  backupId,
  compareTables,
  Manifest,
  MANIFEST_FORMAT,
  parseManifest,
  readTables,
} from "./backup/manifest";
import {
  Erasure,
  exportErasures,
  hasErasureLog,
  missingErasures,
  newestExport,
  readErasures,
  replayErasures,
} from "./backup/erasures";
import { MANIFEST, storeFor } from "./backup/store";

const ROOT = resolve(__dirname, "..");

export interface BackupOptions {
  command: "backup" | "restore" | "erasures";
  stack: string;
  service?: string;
  backup?: string;
  into?: string;
  json: boolean;
}

export function parseBackupArgs(argv: readonly string[]): BackupOptions {
  const [command, ...rest] = argv;
  if (command !== "backup" && command !== "restore" && command !== "erasures") {
    throw new UsageError(`first argument ${JSON.stringify(command)} is not backup, restore or erasures`);
  }
  const opts: Partial<BackupOptions> = { command, json: false };
  const value = (flag: string, v: string | undefined) => {
    if (!v || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--service") opts.service = value(a, rest[++i]);
    else if (a === "--backup") opts.backup = value(a, rest[++i]);
    else if (a === "--into") opts.into = value(a, rest[++i]);
    else if (a === "--json") opts.json = true;
    else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    else if (opts.stack === undefined) opts.stack = a;
    else throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
  }
  if (!opts.stack) throw new UsageError("give a stack (e.g. test)");
  if (command === "restore" && !opts.service) throw new UsageError("restore needs a service (SERVICE=…)");
  if (command !== "restore" && (opts.backup || opts.into)) {
    throw new UsageError("BACKUP and INTO are for restore");
  }
  if (opts.into !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(opts.into)) {
    throw new UsageError(`INTO ${JSON.stringify(opts.into)} is not a lowercase PostgreSQL identifier`);
  }
  if (opts.backup !== undefined && !/^\d{8}T\d{6}Z$/.test(opts.backup)) {
    throw new UsageError(`BACKUP ${JSON.stringify(opts.backup)} is not a backup id (YYYYMMDDTHHMMSSZ)`);
  }
  return opts as BackupOptions;
}

/** The folder with pg_dump and pg_restore: PG_CLIENT_BIN, else scripts/ensure-pg-client.sh's. */
export function pgClientBin(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PG_CLIENT_BIN) return env.PG_CLIENT_BIN;
  const res = spawnSync(join(ROOT, "scripts", "ensure-pg-client.sh"), { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`scripts/ensure-pg-client.sh failed:\n${res.stderr}`);
  return res.stdout.trim().split("\n").pop() as string;
}

/** A URI without its password, and the password (libpq's PGPASSWORD): never on a command line. */
function splitPassword(uri: string): { uri: string; env: NodeJS.ProcessEnv } {
  const url = new URL(uri);
  const password = decodeURIComponent(url.password);
  url.password = "";
  return { uri: url.toString(), env: { PGPASSWORD: password } };
}

function runTool(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const res = spawnSync(bin, args, { encoding: "utf8", env: { ...process.env, ...env } });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`${bin.split("/").pop()} exited ${res.status}: ${res.stderr.trim()}`);
  return res.stdout;
}

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function serviceOf(cfg: StackConfig, stack: string, name: string): ServiceConfig {
  const svc = cfg.services.find((s) => s.name === name);
  if (!svc) {
    throw new UsageError(
      `stack "${stack}" has no service "${name}" (it has ${cfg.services.map((s) => s.name).join(", ")})`,
    );
  }
  return svc;
}

/** Takes one backup of one service; returns its manifest. */
export async function backupService(
  stack: string,
  svc: ServiceConfig,
  uri: string,
  at = new Date(),
): Promise<Manifest> {
  const bin = pgClientBin();
  const store = storeFor(svc.backup.destination, stack, ROOT);
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
    const expires = new Date(at.getTime() + svc.backup.retentionDays * 86_400_000);
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
        sha256: sha256(join(tmp, file)),
      },
      retentionDays: svc.backup.retentionDays,
      expiresAt: expires.toISOString(),
      tables,
    };
    writeFileSync(join(tmp, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
    const retention = { retainUntil: expires, locked: svc.backup.locked };
    await store.put(`${svc.database}/${id}/${file}`, join(tmp, file), retention);
    await store.put(`${svc.database}/${id}/${MANIFEST}`, join(tmp, MANIFEST), retention);
    await exportErasures(store, svc.database, erasures, id, retention);
    return manifest;
  } finally {
    await client.end().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface ErasureReplay {
  /** Erasures recorded after the backup, re-applied on the restored copy. */
  replayed: number;
  /** Profiles they deleted from it. */
  profilesDeleted: number;
  /** Where the log could not be read (the restore still replays what the others hold). */
  notes: string[];
}

export interface RestoreResult {
  manifest: Manifest;
  database: string;
  problems: string[];
  /** Set when the database keeps an erasure log (gdpr). */
  erasures?: ErasureReplay;
}

/**
 * Re-applies, on the restored copy, the erasures its log lacks: from the live
 * database's log (read as the backup role, `liveUri`) and the newest copy of
 * the log in the destination.
 */
async function replayAfterRestore(
  restored: Client,
  store: ReturnType<typeof storeFor>,
  database: string,
  liveUri: string | undefined,
): Promise<ErasureReplay> {
  const notes: string[] = [];
  let live: Erasure[] = [];
  if (liveUri) {
    const c = new Client({ ...clientConfigFromUri(liveUri, "backupUri"), application_name: "make-restore" });
    try {
      await c.connect();
      live = await readErasures(c);
    } catch (err) {
      notes.push(`the live ${database}'s erasure log could not be read (${(err as Error).message})`);
    } finally {
      await c.end().catch(() => undefined);
    }
  } else notes.push(`no backup role for the live ${database}: its erasure log was not read`);
  let exported: Erasure[] = [];
  try {
    exported = (await newestExport(store, database))?.erasures ?? [];
  } catch (err) {
    notes.push(`the erasure log copies in ${store.where} could not be read (${(err as Error).message})`);
  }
  const missing = missingErasures(await readErasures(restored), live, exported);
  const profilesDeleted = await replayErasures(restored, missing);
  return { replayed: missing.length, profilesDeleted, notes };
}

/** The admin's connection to `database` on a local stack. */
function adminUri(stack: string, cfg: StackConfig, database: string): string {
  if (cfg.target !== "local") {
    throw new UsageError(
      `stack "${stack}" has target "${cfg.target}": make restore runs against local stacks so far`,
    );
  }
  const file = join(ROOT, ".local", stack, "admin-password");
  const password = process.env.PGPASSWORD ?? (existsSync(file) ? readFileSync(file, "utf8").trim() : "");
  return postgresUri({
    user: cfg.adminUser,
    password,
    host: cfg.host,
    port: cfg.port,
    database,
    sslmode: cfg.sslmode,
  });
}

/** Restores one backup into a fresh database and verifies it against the manifest. */
export async function restoreService(
  stack: string,
  cfg: StackConfig,
  svc: ServiceConfig,
  opts: { backup?: string; into?: string; liveUri?: string },
): Promise<RestoreResult> {
  const store = storeFor(svc.backup.destination, stack, ROOT);
  const ids = await store.ids(svc.database);
  if (ids.length === 0) throw new Error(`no backup of ${svc.database} in ${store.where}`);
  const id = opts.backup ?? ids[ids.length - 1];
  if (!ids.includes(id)) {
    throw new UsageError(
      `no backup ${id} of ${svc.database} in ${store.where} (there are: ${ids.join(", ")})`,
    );
  }
  const manifest = parseManifest(
    await store.read(`${svc.database}/${id}/${MANIFEST}`),
    `${svc.database}/${id}`,
  );
  const into = opts.into ?? `${svc.database}_restore_${id.toLowerCase()}`;
  const live = cfg.services.map((s) => s.database);
  if (live.includes(into)) {
    throw new UsageError(
      `INTO ${into} is a live database of stack "${stack}": a restore goes into a fresh database, then the service is pointed at it`,
    );
  }

  const tmp = mkdtempSync(join(tmpdir(), "restore-"));
  const admin = new Client({
    connectionString: adminUri(stack, cfg, "postgres"),
    application_name: "make-restore",
  });
  await admin.connect();
  try {
    const dump = join(tmp, manifest.dump.file);
    await store.get(`${svc.database}/${id}/${manifest.dump.file}`, dump);
    const digest = sha256(dump);
    if (digest !== manifest.dump.sha256) {
      throw new Error(
        `${svc.database}/${id}: the dump's sha256 is ${digest}, the manifest says ${manifest.dump.sha256}`,
      );
    }
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [into]);
    if (exists.rowCount)
      throw new UsageError(`INTO ${into} exists already: a restore needs a fresh database`);
    await admin.query(
      `CREATE DATABASE "${into}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`,
    );
    // A restored copy holds the same personal data as the live one: nobody but the admin gets in.
    await admin.query(`REVOKE ALL ON DATABASE "${into}" FROM PUBLIC`);
    const intoUri = adminUri(stack, cfg, into);
    const conn = splitPassword(intoUri);
    runTool(
      join(pgClientBin(), "pg_restore"),
      ["--no-owner", "--no-acl", "--exit-on-error", "--no-password", `--dbname=${conn.uri}`, dump],
      conn.env,
    );
    const check = new Client({ ...clientConfigFromUri(intoUri, "admin"), application_name: "make-restore" });
    await check.connect();
    try {
      const problems = compareTables(manifest.tables, await readTables(check));
      // Verified against the manifest first; then no erased person may stay in the copy.
      const erasures = (await hasErasureLog(check))
        ? await replayAfterRestore(check, store, svc.database, opts.liveUri)
        : undefined;
      return { manifest, database: into, problems, ...(erasures ? { erasures } : {}) };
    } finally {
      await check.end();
    }
  } finally {
    await admin.end().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Copies one service's erasure log to its destination (make backup-erasures); a line to print, or "". */
export async function copyErasureLog(stack: string, svc: ServiceConfig, uri: string): Promise<string> {
  const client = new Client({ ...clientConfigFromUri(uri, "backupUri"), application_name: "make-backup" });
  await client.connect();
  try {
    if (!(await hasErasureLog(client))) return "";
    const erasures = await readErasures(client);
    const store = storeFor(svc.backup.destination, stack, ROOT);
    const at = new Date();
    const retention = {
      retainUntil: new Date(at.getTime() + svc.backup.retentionDays * 86_400_000),
      locked: svc.backup.locked,
    };
    const wrote = await exportErasures(store, svc.database, erasures, backupId(at), retention);
    return wrote
      ? `${svc.database}: erasure log (${erasures.length} entries) copied to ${store.where}/${svc.database}/erasures/${backupId(at)}.json`
      : `${svc.database}: erasure log (${erasures.length} entries) unchanged since its last copy in ${store.where}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function backupUriOf(stack: string, outputs: Record<string, unknown>, service: string): string {
  const uris = outputs.backupUris;
  const uri =
    typeof uris === "object" && uris !== null ? (uris as Record<string, unknown>)[service] : undefined;
  if (typeof uri !== "string") {
    throw new UsageError(
      `stack "${stack}" has no backup role for "${service}" yet: run \`make up STACK=${stack}\``,
    );
  }
  return uri;
}

export async function main(argv: readonly string[]): Promise<number> {
  let opts: BackupOptions;
  try {
    opts = parseBackupArgs(argv);
  } catch (err) {
    process.stderr.write(`backup: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const cfg = stackConfig(opts.stack);
    if (opts.command === "backup") {
      const services = opts.service ? [serviceOf(cfg, opts.stack, opts.service)] : cfg.services;
      const outputs = readStackOutputs(opts.stack, { showSecrets: true });
      for (const svc of services) {
        const m = await backupService(opts.stack, svc, backupUriOf(opts.stack, outputs, svc.name));
        const rows = m.tables.reduce((n, t) => n + t.rows, 0);
        const where = storeFor(svc.backup.destination, opts.stack, ROOT).where;
        process.stdout.write(
          `${svc.database}: backup ${m.id} (${m.tables.length} tables, ${rows} rows, ${m.dump.bytes} bytes) ` +
            `in ${where}; kept ${svc.backup.retention} until ${m.expiresAt.slice(0, 10)}\n`,
        );
      }
      return 0;
    }
    if (opts.command === "erasures") {
      const services = opts.service ? [serviceOf(cfg, opts.stack, opts.service)] : cfg.services;
      const outputs = readStackOutputs(opts.stack, { showSecrets: true });
      for (const svc of services) {
        const line = await copyErasureLog(opts.stack, svc, backupUriOf(opts.stack, outputs, svc.name));
        if (line) process.stdout.write(`${line}\n`);
      }
      return 0;
    }
    const svc = serviceOf(cfg, opts.stack, opts.service as string);
    let liveUri: string | undefined;
    try {
      liveUri = backupUriOf(opts.stack, readStackOutputs(opts.stack, { showSecrets: true }), svc.name);
    } catch {
      liveUri = undefined; // said in the result's notes: the copies in the destination still count
    }
    const r = await restoreService(opts.stack, cfg, svc, { ...opts, liveUri });
    const rows = r.manifest.tables.reduce((n, t) => n + t.rows, 0);
    if (opts.json)
      process.stdout.write(
        `${JSON.stringify({ database: r.database, id: r.manifest.id, problems: r.problems, erasures: r.erasures })}\n`,
      );
    else if (r.problems.length === 0) {
      process.stdout.write(
        `${svc.database}: backup ${r.manifest.id} restored into ${r.database}; verified: ` +
          `${r.manifest.tables.length} tables, ${rows} rows, every row count and checksum matches the manifest\n`,
      );
    } else {
      process.stdout.write(
        `${svc.database}: backup ${r.manifest.id} restored into ${r.database}; NOT verified:\n` +
          r.problems.map((p) => `  - ${p}\n`).join(""),
      );
    }
    if (r.erasures && !opts.json) {
      const e = r.erasures;
      process.stdout.write(
        `${r.database}: re-applied ${e.replayed} GDPR erasure${e.replayed === 1 ? "" : "s"} recorded after the backup ` +
          `(${e.profilesDeleted} profile${e.profilesDeleted === 1 ? "" : "s"} deleted)\n`,
      );
      for (const n of e.notes) process.stderr.write(`restore: warning: ${n}\n`);
    }
    return r.problems.length === 0 ? 0 : 1;
  } catch (err) {
    process.stderr.write(`${opts.command}: ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}

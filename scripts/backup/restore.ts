/**
 * Restoring one backup (make restore): as the stack's admin, into a fresh
 * database (never over a live one; by default `<database>_restore_<id>`,
 * refused if it exists), CONNECT revoked from PUBLIC first; pg_restore
 * --no-owner --no-acl; then every table's row count and checksum is compared
 * with the manifest; then the GDPR erasures recorded after the backup are
 * re-applied (erasures.ts).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import type { ServiceConfig, StackConfig } from "../../components/config/stack-config";
import { postgresUri } from "../../components/server/connection";
import { clientConfigFromUri, UsageError } from "../check";
import { compareTables, Manifest, parseManifest, readTables } from "./manifest";
import {
  Erasure,
  hasErasureLog,
  missingErasures,
  newestExport,
  readErasures,
  replayErasures,
} from "./erasures";
import { MANIFEST, storeFor } from "./store";
import { pgClientBin, runTool, sha256, splitPassword } from "./take";
import { copyDatabaseGrants, dropMemberships, grantMemberships, ownersOf, swapDatabases } from "./replace";

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
  /** With `replace`: where the data the restore replaced now is (unset when nothing was replaced). */
  replaced?: string;
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

/** Where a cloud stack's instance answers: host, port and sslmode of a service's connection URI (stack output). */
export interface AdminServer {
  host: string;
  port: number;
  sslmode: string;
}

/**
 * The admin's connection to `database`. A local stack: its server and the
 * admin's password from .local/<stack>/ (or PGPASSWORD). A cloud stack: the
 * instance from the stack's outputs (`server`), as `adminUser` with the
 * password in PGPASSWORD (Cloud SQL's admin password, the RDS master user's
 * secret), run where the instance is reachable (its private network).
 */
function adminUri(
  stack: string,
  cfg: StackConfig,
  database: string,
  root: string,
  server: AdminServer | undefined,
  env: NodeJS.ProcessEnv,
): string {
  if (cfg.target !== "local") {
    if (!server) {
      throw new UsageError(`stack "${stack}" has no connection URIs yet: run \`make up STACK=${stack}\``);
    }
    if (!env.PGPASSWORD) {
      throw new UsageError(
        `stack "${stack}" has target "${cfg.target}": make restore connects to ${server.host} as ${cfg.adminUser}; ` +
          "give that user's password in PGPASSWORD (never on the command line)",
      );
    }
    return postgresUri({ user: cfg.adminUser, password: env.PGPASSWORD, database, ...server });
  }
  const file = join(root, ".local", stack, "admin-password");
  const password = env.PGPASSWORD ?? (existsSync(file) ? readFileSync(file, "utf8").trim() : "");
  return postgresUri({
    user: cfg.adminUser,
    password,
    host: cfg.host,
    port: cfg.port,
    database,
    sslmode: cfg.sslmode,
  });
}

/** Where REPLACE leaves the data it replaced. */
export function replacedName(database: string, id: string): string {
  return `${database}_replaced_${id.toLowerCase()}`;
}

/** Restores one backup into a fresh database and verifies it against the manifest. */
export async function restoreService(
  stack: string,
  cfg: StackConfig,
  svc: ServiceConfig,
  opts: {
    backup?: string;
    into?: string;
    liveUri?: string;
    root: string;
    env?: NodeJS.ProcessEnv;
    /** A cloud stack's instance (from its outputs). */
    server?: AdminServer;
    /**
     * Restore over the live database (make restore REPLACE=<database>): into a
     * fresh one with owners and privileges, verified, then swapped in by name.
     */
    replace?: boolean;
  },
): Promise<RestoreResult> {
  if (opts.replace && opts.into) {
    throw new UsageError(
      "INTO and REPLACE do not go together: a restore goes into a fresh database, or replaces the live one",
    );
  }
  const live = cfg.services.map((s) => s.database);
  if (opts.into && live.includes(opts.into)) {
    throw new UsageError(
      `INTO ${opts.into} is a live database of stack "${stack}": a restore goes into a fresh database, ` +
        `then the service is pointed at it; to restore over it, give REPLACE=${opts.into}`,
    );
  }
  const store = storeFor(svc.backup.destination, stack, opts.root, opts.env);
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
  const into = opts.replace
    ? `${svc.database}_restoring_${id.toLowerCase()}`
    : (opts.into ?? `${svc.database}_restore_${id.toLowerCase()}`);
  for (const name of [into, ...(opts.replace ? [replacedName(svc.database, id)] : [])]) {
    if (name.length > 63) {
      throw new UsageError(`${name} is longer than PostgreSQL's 63 characters: give INTO a shorter name`);
    }
  }

  const tmp = mkdtempSync(join(tmpdir(), "restore-"));
  const admin = new Client({
    connectionString: adminUri(stack, cfg, "postgres", opts.root, opts.server, opts.env ?? process.env),
    application_name: "make-restore",
  });
  await admin.connect();
  try {
    const dump = join(tmp, manifest.dump.file);
    await store.get(`${svc.database}/${id}/${manifest.dump.file}`, dump);
    const digest = await sha256(dump);
    if (digest !== manifest.dump.sha256) {
      throw new Error(
        `${svc.database}/${id}: the dump's sha256 is ${digest}, the manifest says ${manifest.dump.sha256}`,
      );
    }
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [into]);
    if (exists.rowCount)
      throw new UsageError(`INTO ${into} exists already: a restore needs a fresh database`);
    if (opts.replace) {
      const current = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [svc.database]);
      if (!current.rowCount) {
        throw new UsageError(
          `${svc.database} does not exist, so there is nothing to replace: \`make up STACK=${stack}\` creates it ` +
            "(empty, with its roles and grants), then REPLACE restores into it",
        );
      }
      const kept = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [
        replacedName(svc.database, id),
      ]);
      if (kept.rowCount) {
        throw new UsageError(
          `${replacedName(svc.database, id)} exists already (this backup replaced ${svc.database} before): drop it first`,
        );
      }
    }
    await admin.query(
      `CREATE DATABASE "${into}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`,
    );
    // A restored copy holds the same personal data as the live one: nobody but the admin gets in.
    await admin.query(`REVOKE ALL ON DATABASE "${into}" FROM PUBLIC`);
    const intoUri = adminUri(stack, cfg, into, opts.root, opts.server, opts.env ?? process.env);
    const conn = splitPassword(intoUri);
    const pgRestore = join(pgClientBin(opts.root, opts.env), "pg_restore");
    // A drill copy is the admin's alone; a replacement gets the owners and privileges the backup had.
    const granted = opts.replace ? await grantMemberships(admin, ownersOf(pgRestore, dump)) : [];
    try {
      if (opts.replace) await copyDatabaseGrants(admin, svc.database, into);
      runTool(
        pgRestore,
        [
          ...(opts.replace ? [] : ["--no-owner", "--no-acl"]),
          "--exit-on-error",
          "--no-password",
          `--dbname=${conn.uri}`,
          dump,
        ],
        conn.env,
      );
      const check = new Client({
        ...clientConfigFromUri(intoUri, "admin"),
        application_name: "make-restore",
      });
      await check.connect();
      let result: RestoreResult;
      try {
        const problems = compareTables(manifest.tables, await readTables(check));
        // Verified against the manifest first; then no erased person may stay in the copy.
        const erasures = (await hasErasureLog(check))
          ? await replayAfterRestore(check, store, svc.database, opts.liveUri)
          : undefined;
        result = { manifest, database: into, problems, ...(erasures ? { erasures } : {}) };
      } finally {
        await check.end();
      }
      // Swapped in only once verified; otherwise the live database is untouched and the copy says why.
      if (!opts.replace || result.problems.length > 0) return result;
      const replaced = replacedName(svc.database, id);
      await swapDatabases(admin, svc.database, into, replaced);
      return { ...result, database: svc.database, replaced };
    } finally {
      await dropMemberships(admin, granted);
    }
  } finally {
    await admin.end().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

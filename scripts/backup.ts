/**
 * Logical backups per database and restores proven against their manifest
 * (docs/backup.md).
 *
 *   make backup STACK=test [SERVICE=gdpr]
 *   make restore STACK=test SERVICE=gdpr [BACKUP=<id>] [INTO=<database> | REPLACE=<its live database>]
 *   tsx scripts/backup.ts backup <stack> [--service S]
 *   tsx scripts/backup.ts restore <stack> --service S [--backup ID] [--into DB | --replace LIVE_DB] [--json]
 *   tsx scripts/backup.ts erasures <stack> [--service S]   (make backup-erasures)
 *   backup.js backup <stack> --from-env --service S --database D --destination gs://…|s3://… --retention 7y [--locked]
 *
 * Backup (scripts/backup/take.ts): as the service's backup role (the stack's
 * secret output backupUris, or DATABASE_BACKUP_URL with --from-env: the
 * cluster's backup CronJob, components/cluster/backup-cronjob.ts, which gives
 * the service's policy as flags), one snapshot for the manifest and pg_dump;
 * the dump and then the manifest go to the service's destination.
 *
 * Restore (scripts/backup/restore.ts): as the stack's admin, into a fresh
 * database, verified against the manifest, GDPR erasures re-applied; with
 * --replace (the live database's name, typed out), swapped in for the live
 * database once verified (scripts/backup/replace.ts).
 * Exit status: 0 done (and verified), 1 failed or mismatch, 2 usage.
 */
import { resolve } from "node:path";
import type { ServiceConfig, StackConfig } from "../components/config/stack-config";
import { parseBackupDestination, retentionDays } from "../components/config/backup-config";
import { UsageError } from "./check";
import { readStackOutputs } from "./helm-values";
import { stackConfig } from "./local-server";
import { storeFor } from "./backup/store";
import { backupLine, backupService, BackupSubject, copyErasureLog } from "./backup/take";
import { restoreService } from "./backup/restore";
import { serverOf, withStackBuckets } from "./backup/stack-buckets";

const ROOT = resolve(__dirname, "..");
/** The backup role's URI in `--from-env` mode (the backup CronJob's Secret key). */
export const BACKUP_URL_VARIABLE = "DATABASE_BACKUP_URL";

export interface BackupOptions {
  command: "backup" | "restore" | "erasures";
  stack: string;
  service?: string;
  backup?: string;
  into?: string;
  /** restore --replace: the live database the restore replaces (its name, as a confirmation). */
  replace?: string;
  json: boolean;
  /** `backup --from-env`: the service's policy from the flags, the URI from DATABASE_BACKUP_URL. */
  fromEnv?: BackupSubject;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function parseBackupArgs(argv: readonly string[]): BackupOptions {
  const [command, ...rest] = argv;
  if (command !== "backup" && command !== "restore" && command !== "erasures") {
    throw new UsageError(`first argument ${JSON.stringify(command)} is not backup, restore or erasures`);
  }
  const opts: Partial<BackupOptions> = { command, json: false };
  const job: {
    fromEnv?: boolean;
    database?: string;
    destination?: string;
    retention?: string;
    locked?: boolean;
  } = {};
  const value = (flag: string, v: string | undefined) => {
    if (!v || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--service") opts.service = value(a, rest[++i]);
    else if (a === "--backup") opts.backup = value(a, rest[++i]);
    else if (a === "--into") opts.into = value(a, rest[++i]);
    else if (a === "--replace") opts.replace = value(a, rest[++i]);
    else if (a === "--json") opts.json = true;
    else if (a === "--from-env") job.fromEnv = true;
    else if (a === "--database") job.database = value(a, rest[++i]);
    else if (a === "--destination") job.destination = value(a, rest[++i]);
    else if (a === "--retention") job.retention = value(a, rest[++i]);
    else if (a === "--locked") job.locked = true;
    else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    else if (opts.stack === undefined) opts.stack = a;
    else throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
  }
  if (!opts.stack) throw new UsageError("give a stack (e.g. test)");
  if (command === "restore" && !opts.service) throw new UsageError("restore needs a service (SERVICE=…)");
  if (command !== "restore" && (opts.backup || opts.into || opts.replace)) {
    throw new UsageError("BACKUP, INTO and REPLACE are for restore");
  }
  if (opts.into !== undefined && !IDENTIFIER.test(opts.into)) {
    throw new UsageError(`INTO ${JSON.stringify(opts.into)} is not a lowercase PostgreSQL identifier`);
  }
  if (opts.backup !== undefined && !/^\d{8}T\d{6}Z$/.test(opts.backup)) {
    throw new UsageError(`BACKUP ${JSON.stringify(opts.backup)} is not a backup id (YYYYMMDDTHHMMSSZ)`);
  }
  const jobFlags = (["database", "destination", "retention", "locked"] as const).filter((k) => job[k]);
  if (!job.fromEnv) {
    if (jobFlags.length > 0) {
      throw new UsageError(
        `--${jobFlags.join(", --")} go${jobFlags.length === 1 ? "es" : ""} with --from-env`,
      );
    }
    return opts as BackupOptions;
  }
  if (command !== "backup") throw new UsageError("--from-env is for backup");
  opts.fromEnv = fromEnvSubject(opts.service, job);
  return opts as BackupOptions;
}

/** The service's policy as `backup --from-env` takes it, each flag checked. */
function fromEnvSubject(
  service: string | undefined,
  job: { database?: string; destination?: string; retention?: string; locked?: boolean },
): BackupSubject {
  const missing = [
    ["--service", service],
    ["--database", job.database],
    ["--destination", job.destination],
    ["--retention", job.retention],
  ].filter(([, v]) => v === undefined);
  if (missing.length > 0) {
    throw new UsageError(`--from-env needs ${missing.map(([flag]) => flag).join(", ")}`);
  }
  if (!IDENTIFIER.test(job.database as string)) {
    throw new UsageError(
      `--database ${JSON.stringify(job.database)} is not a lowercase PostgreSQL identifier`,
    );
  }
  const destination = parseBackupDestination(job.destination as string);
  if (typeof destination === "string") {
    throw new UsageError(`--destination ${JSON.stringify(job.destination)}: ${destination}`);
  }
  if (destination.kind === "local" || destination.kind === "bucket") {
    throw new UsageError(
      `--destination ${destination.kind} is resolved from a stack's config: give dir:<path>, gs://<bucket>[/prefix] or s3://<bucket>[/prefix]`,
    );
  }
  const days = retentionDays(job.retention as string);
  if (days === undefined) {
    throw new UsageError(
      `--retention ${JSON.stringify(job.retention)} is not a retention (<n>d or <n>y, e.g. 30d or 7y)`,
    );
  }
  return {
    name: service as string,
    database: job.database as string,
    backup: {
      retention: job.retention as string,
      retentionDays: days,
      destination,
      locked: job.locked === true,
    },
  };
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

/** `backup --from-env`: one service, its policy from the flags, the role's URI from the environment. */
async function backupFromEnv(stack: string, svc: BackupSubject, env: NodeJS.ProcessEnv): Promise<number> {
  const uri = env[BACKUP_URL_VARIABLE];
  if (!uri) throw new UsageError(`--from-env needs ${BACKUP_URL_VARIABLE} (the backup role's URI)`);
  const m = await backupService(stack, svc, uri, { root: ROOT, env });
  process.stdout.write(`${backupLine(svc, m, storeFor(svc.backup.destination, stack, ROOT, env).where)}\n`);
  return 0;
}

async function restore(opts: BackupOptions, cfg: StackConfig): Promise<number> {
  let outputs: Record<string, unknown> = {};
  try {
    outputs = readStackOutputs(opts.stack, { showSecrets: true });
  } catch {
    // A local stack restores without them; the notes say what was not read.
  }
  const [svc] = withStackBuckets([serviceOf(cfg, opts.stack, opts.service as string)], outputs);
  let liveUri: string | undefined;
  try {
    liveUri = backupUriOf(opts.stack, outputs, svc.name);
  } catch {
    liveUri = undefined; // said in the result's notes: the copies in the destination still count
  }
  if (opts.replace !== undefined && opts.replace !== svc.database) {
    throw new UsageError(
      `REPLACE ${JSON.stringify(opts.replace)} is not ${svc.name}'s database: give REPLACE=${svc.database} to restore over it`,
    );
  }
  const server = cfg.target === "local" ? undefined : serverOf(outputs, svc.name);
  const r = await restoreService(opts.stack, cfg, svc, {
    ...(opts.backup ? { backup: opts.backup } : {}),
    ...(opts.into ? { into: opts.into } : {}),
    replace: opts.replace !== undefined,
    liveUri,
    root: ROOT,
    ...(server ? { server } : {}),
  });
  const rows = r.manifest.tables.reduce((n, t) => n + t.rows, 0);
  if (opts.json)
    process.stdout.write(
      `${JSON.stringify({ database: r.database, id: r.manifest.id, problems: r.problems, erasures: r.erasures, replaced: r.replaced })}\n`,
    );
  else if (r.problems.length === 0) {
    process.stdout.write(
      `${svc.database}: backup ${r.manifest.id} restored ${r.replaced ? "over" : "into"} ${r.database}; verified: ` +
        `${r.manifest.tables.length} tables, ${rows} rows, every row count and checksum matches the manifest\n` +
        (r.replaced
          ? `${svc.database}: the data it replaced is in ${r.replaced} (only the admin can connect); drop it when no longer needed\n`
          : ""),
    );
  } else {
    process.stdout.write(
      `${svc.database}: backup ${r.manifest.id} restored into ${r.database}; NOT verified:\n` +
        r.problems.map((p) => `  - ${p}\n`).join("") +
        (opts.replace ? `${svc.database}: not replaced\n` : ""),
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
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let opts: BackupOptions;
  try {
    opts = parseBackupArgs(argv);
  } catch (err) {
    process.stderr.write(`backup: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    if (opts.fromEnv) return await backupFromEnv(opts.stack, opts.fromEnv, env);
    const cfg = stackConfig(opts.stack);
    if (opts.command === "restore") return await restore(opts, cfg);
    const outputs = readStackOutputs(opts.stack, { showSecrets: true });
    const services = withStackBuckets(
      opts.service ? [serviceOf(cfg, opts.stack, opts.service)] : cfg.services,
      outputs,
    );
    for (const svc of services) {
      const uri = backupUriOf(opts.stack, outputs, svc.name);
      if (opts.command === "erasures") {
        const line = await copyErasureLog(opts.stack, svc, uri, ROOT);
        if (line) process.stdout.write(`${line}\n`);
        continue;
      }
      const m = await backupService(opts.stack, svc, uri, { root: ROOT });
      process.stdout.write(
        `${backupLine(svc, m, storeFor(svc.backup.destination, opts.stack, ROOT).where)}\n`,
      );
    }
    return 0;
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

/**
 * The per-service backup policy (ADR-0060: "different backup strategies (GDPR
 * data: 7 years, sessions: ephemeral)"): how long each database's logical
 * backups are kept, when they run and where they go. Three keys, each a list
 * of `service=value` entries over the defaults:
 *
 * - `backupRetention`: `<n>d` or `<n>y` (1 day to 100 years). Defaults: gdpr
 *   7 years (consents and audit logs), openfga and keycloak 30 days
 *   (operational); a service not listed keeps its backups 30 days.
 * - `backupSchedule`: a cron schedule (UTC). Default: daily at 01:43, before
 *   the managed instance's own backup window.
 * - `backupDestination`: `local` (the stack's `.local/backups/`, targets local
 *   only), `dir:<path>`, `bucket` (the bucket the stack creates for the
 *   service, targets gcp and aws only), `gs://<bucket>[/prefix]` or
 *   `s3://<bucket>[/prefix]`. Default: `local` for target local, `bucket`
 *   for the clouds.
 *
 * The entries override the defaults service by service (an empty list, the
 * default, keeps them all). In prod, a retention of a year or more is locked
 * (GCS retention policy locked, S3 Object Lock in compliance mode): not even
 * an admin can delete such a backup before its retention ends.
 *
 * Pure: it records every problem with its key and value.
 */
import type { Environment } from "../naming";
import { Problems, parseStringList } from "./parse";
import type { RawConfig } from "./parse";
import type { Target } from "./types";

export const BACKUP_CONFIG_KEYS = ["backupRetention", "backupSchedule", "backupDestination"] as const;

/** ADR-0060's retention classes: gdpr's consents and audit logs 7 years, the rest operational. */
export const DEFAULT_BACKUP_RETENTION: Readonly<Record<string, string>> = {
  gdpr: "7y",
  openfga: "30d",
  keycloak: "30d",
};
/** What a service not named in `backupRetention` keeps: 30 days (operational). */
export const DEFAULT_SERVICE_BACKUP_RETENTION = "30d";
/** Daily at 01:43 UTC: off the hour and before the managed backups' 02:00 window. */
export const DEFAULT_BACKUP_SCHEDULE = "43 1 * * *";
/**
 * In prod, backups kept a year or more (a compliance retention such as gdpr's)
 * are locked; operational ones (30 days) are not.
 */
export const LOCK_MIN_DAYS = 365;
/** S3 Object Lock and GCS retention policies both stop at 100 years. */
export const MAX_BACKUP_RETENTION_DAYS = 36500;

const CRON_SCHEDULE =
  /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[0-9*,/-]+ [0-9*,/-]+ [0-9*,/?LW-]+ [0-9A-Za-z*,/-]+ [0-9A-Za-z*,/?#L-]+)$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

export type BackupDestination =
  /** The stack's own folder: `.local/backups/<stack>/` (targets local). */
  | { kind: "local" }
  /** A folder of the machine that runs `make backup`. */
  | { kind: "dir"; path: string }
  /** The bucket the stack creates for the service (targets gcp and aws). */
  | { kind: "bucket" }
  /** An existing bucket (or the object-storage emulator). */
  | { kind: "gcs" | "s3"; bucket: string; prefix: string };

export interface BackupPolicy {
  /** Retention as configured, e.g. `7y`. */
  retention: string;
  /** The same in days (a year is 365.25 days, rounded up). */
  retentionDays: number;
  /** Cron schedule (UTC). */
  schedule: string;
  destination: BackupDestination;
  /** Backups cannot be deleted before their retention ends (prod, services in `backupLock`). */
  locked: boolean;
}

/** `7y` → 2557, `30d` → 30; undefined when it is neither. */
export function retentionDays(value: string): number | undefined {
  const m = /^([1-9][0-9]{0,5})([dy])$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === "d" ? n : Math.ceil(n * 365.25);
}

/** Parses `gs://b/p`, `s3://b/p`, `dir:/p`, `local`, `bucket`; a reason string when it is none. */
export function parseBackupDestination(value: string): BackupDestination | string {
  if (value === "local") return { kind: "local" };
  if (value === "bucket") return { kind: "bucket" };
  if (value.startsWith("dir:")) {
    const path = value.slice(4);
    if (path === "" || /[\0\n]/.test(path)) return "dir: needs a folder path";
    return { kind: "dir", path };
  }
  const m = /^(gs|s3):\/\/([^/]+)(\/(.*))?$/.exec(value);
  if (m) {
    const bucket = m[2];
    if (!BUCKET_NAME.test(bucket) || bucket.includes("..")) {
      return `bucket "${bucket}" is not a bucket name (3-63 of a-z 0-9 . _ -, starting and ending with a letter or digit)`;
    }
    const prefix = (m[4] ?? "").replace(/\/+$/, "");
    if (prefix.split("/").some((part) => part === "." || part === "..")) {
      return `prefix "${prefix}" may not contain . or .. segments`;
    }
    return { kind: m[1] === "gs" ? "gcs" : "s3", bucket, prefix };
  }
  return "is not local, bucket, dir:<path>, gs://<bucket>[/prefix] or s3://<bucket>[/prefix]";
}

/** `service=value` entries of one key, checked against the services; a map by service. */
function entries(
  problems: Problems,
  key: string,
  raw: string | undefined,
  fallback: string[],
  services: readonly string[],
): Map<string, { value: string; at: string }> {
  const out = new Map<string, { value: string; at: string }>();
  parseStringList(problems, key, raw, fallback).forEach((entry, index) => {
    const at = `${key}[${index}]`;
    const m = typeof entry === "string" ? /^([^=]+)=(.*)$/.exec(entry) : null;
    if (!m) {
      problems.add(at, `${JSON.stringify(entry)} is not service=value`);
      return;
    }
    const service = m[1].trim();
    if (!services.includes(service)) {
      problems.add(at, `"${service}" is not one of the configured services (${services.join(", ")})`);
      return;
    }
    if (out.has(service)) {
      problems.add(at, `service "${service}" is listed twice`);
      return;
    }
    out.set(service, { value: m[2].trim(), at });
  });
  return out;
}

/**
 * Every service's backup policy, keyed by service name. Entries for services
 * not configured are refused; services without an entry get the defaults.
 */
export function parseBackupConfig(
  problems: Problems,
  raw: RawConfig,
  ctx: { services: readonly string[]; target: Target; environment: Environment },
): Record<string, BackupPolicy> {
  const { services, target, environment } = ctx;
  const retention = entries(problems, "backupRetention", raw.backupRetention, [], services);
  const schedule = entries(problems, "backupSchedule", raw.backupSchedule, [], services);
  const destination = entries(problems, "backupDestination", raw.backupDestination, [], services);

  const policies: Record<string, BackupPolicy> = {};
  for (const service of services) {
    const r = retention.get(service);
    const retentionValue = r?.value ?? DEFAULT_BACKUP_RETENTION[service] ?? DEFAULT_SERVICE_BACKUP_RETENTION;
    let days = retentionDays(retentionValue);
    if (days === undefined) {
      problems.add(
        r?.at ?? "backupRetention",
        `${JSON.stringify(retentionValue)} is not a retention (<n>d or <n>y, e.g. 30d or 7y)`,
      );
      days = 30;
    } else if (days > MAX_BACKUP_RETENTION_DAYS) {
      problems.add(
        r?.at ?? "backupRetention",
        `"${retentionValue}" is ${days} days, more than the buckets' limit of ${MAX_BACKUP_RETENTION_DAYS} (100 years)`,
      );
    }

    const s = schedule.get(service);
    const scheduleValue = s?.value.replace(/\s+/g, " ") || DEFAULT_BACKUP_SCHEDULE;
    if (!CRON_SCHEDULE.test(scheduleValue)) {
      problems.add(
        s?.at ?? "backupSchedule",
        `${JSON.stringify(s?.value)} is not a cron schedule (five fields, e.g. "${DEFAULT_BACKUP_SCHEDULE}", or @daily)`,
      );
    }

    const d = destination.get(service);
    let dest: BackupDestination = target === "local" ? { kind: "local" } : { kind: "bucket" };
    if (d) {
      const parsed = parseBackupDestination(d.value);
      if (typeof parsed === "string") {
        problems.add(d.at, `${JSON.stringify(d.value)}${parsed.startsWith("is ") ? " " : ": "}${parsed}`);
      } else if (parsed.kind === "bucket" && target === "local") {
        problems.add(
          d.at,
          `"bucket" is for targets gcp and aws (the stack creates it there); target local uses local, dir:<path>, gs:// or s3://`,
        );
      } else if (parsed.kind === "local" && target !== "local") {
        problems.add(d.at, `"local" is for target local; target "${target}" uses bucket, gs:// or s3://`);
      } else dest = parsed;
    }

    policies[service] = {
      retention: retentionValue,
      retentionDays: days,
      schedule: scheduleValue,
      destination: dest,
      locked: environment === "prod" && days >= LOCK_MIN_DAYS,
    };
  }
  return policies;
}

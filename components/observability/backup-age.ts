/**
 * How old a database's last good backup may be, from its backup schedule, and
 * the `backup-age <db>` row of `make check`. Pure.
 *
 * A backup is good once its manifest is written (scripts/backup.ts writes it
 * last, after the dump); its id is the UTC time it was taken. The reader of
 * the destination (scripts/backup/status.ts) hands the newest id's time here.
 *
 * Allowed age: the longest gap between two consecutive runs of the schedule
 * (over a leap year, so monthly and yearly schedules count their longest
 * month), plus a grace of a quarter of that gap and at least an hour (the
 * backup's own run time, a retry). Daily → 30 h; hourly → 2 h. A schedule
 * with fields this reader does not interpret (L, W, #, ?) is given 32 days
 * plus grace, the longest a monthly schedule can wait.
 */
import { checkResult, CheckResult } from "./health-spec";

export interface BackupStatus {
  service: string;
  database: string;
  /** The service's backup schedule (cron, UTC). */
  schedule: string;
  /** When its newest complete backup was taken; undefined when it has none. */
  lastSuccess?: Date;
  /** Why the destination could not be read (then lastSuccess is unknown). */
  error?: string;
}

const ALIASES: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const FALLBACK_GAP = 32 * 86_400;

/** The values one cron field allows, or undefined when it uses syntax this reader does not interpret. */
function field(text: string, min: number, max: number, names: string[] = []): Set<number> | undefined {
  const out = new Set<number>();
  const value = (v: string) => {
    const i = names.indexOf(v.toLowerCase());
    return i >= 0 ? i + (min === 1 ? 1 : 0) : /^\d+$/.test(v) ? Number(v) : NaN;
  };
  for (const part of text.split(",")) {
    const m = /^(\*|[0-9a-zA-Z]+(?:-[0-9a-zA-Z]+)?)(?:\/(\d+))?$/.exec(part);
    if (!m) return undefined;
    const [lo, hi] =
      m[1] === "*"
        ? [min, max]
        : m[1].includes("-")
          ? m[1].split("-").map(value)
          : [value(m[1]), value(m[1])];
    const step = m[2] ? Number(m[2]) : 1;
    const top = m[2] && !m[1].includes("-") && m[1] !== "*" ? max : hi;
    if (!Number.isInteger(lo) || !Number.isInteger(top) || step < 1) return undefined;
    for (let v = lo; v <= top; v += step) out.add(v === 7 && max === 7 ? 0 : v);
  }
  return out;
}

/** The longest gap, in seconds, between consecutive runs of a cron schedule (UTC). */
export function scheduleMaxGapSeconds(schedule: string): number {
  const fields = (ALIASES[schedule] ?? schedule).trim().split(/\s+/);
  if (fields.length !== 5) return FALLBACK_GAP;
  const [minute, hour, dom, month, dow] = [
    field(fields[0], 0, 59),
    field(fields[1], 0, 23),
    field(fields[2], 1, 31),
    field(fields[3], 1, 12, MONTHS),
    field(fields[4], 0, 7, DAYS),
  ];
  if (!minute || !hour || !dom || !month || !dow) return FALLBACK_GAP;
  // Standard cron: with both day fields restricted, either one matching runs.
  const domAny = fields[2] === "*";
  const dowAny = fields[4] === "*";
  const dayMatches = (d: Date) => {
    const a = dom.has(d.getUTCDate());
    const b = dow.has(d.getUTCDay());
    return domAny || dowAny ? a && b : a || b;
  };
  // Two leap years of days, the run times of each matching day, the longest gap between runs.
  const start = Date.UTC(2024, 0, 1);
  const minutes = [...hour].flatMap((h) => [...minute].map((m) => h * 60 + m)).sort((a, b) => a - b);
  let previous: number | undefined;
  let longest = 0;
  for (let day = 0; day < 731; day++) {
    const d = new Date(start + day * 86_400_000);
    if (!month.has(d.getUTCMonth() + 1) || !dayMatches(d)) continue;
    for (const m of minutes) {
      const t = d.getTime() / 1000 + m * 60;
      if (previous !== undefined) longest = Math.max(longest, t - previous);
      previous = t;
    }
  }
  return longest > 0 ? longest : FALLBACK_GAP;
}

/** The age a database's last good backup may reach before it is overdue, in seconds. */
export function allowedBackupAgeSeconds(schedule: string): number {
  const gap = scheduleMaxGapSeconds(schedule);
  return gap + Math.max(3600, Math.round(gap / 4));
}

/** `2h 05m`, `30h`, `3d 4h`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3 * 86_400) return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? (m > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : `${h}h`) : `${m}m`;
}

/** `backup-age <db>`: PASS within the allowed age, FAIL past it, PENDING with no backup yet or an unreadable destination. */
export function backupAgeRow(status: BackupStatus, now: Date): CheckResult {
  const allowed = allowedBackupAgeSeconds(status.schedule);
  const rule = `schedule "${status.schedule}" allows ${formatAge(allowed)}`;
  if (status.error !== undefined) {
    return checkResult(
      "backup-age",
      status.database,
      "PENDING",
      `cannot read its backups here: ${status.error}`,
    );
  }
  if (!status.lastSuccess) {
    return checkResult(
      "backup-age",
      status.database,
      "PENDING",
      `no backup of ${status.database} yet (${rule})`,
    );
  }
  const age = (now.getTime() - status.lastSuccess.getTime()) / 1000;
  const when = status.lastSuccess.toISOString().replace(/\.\d+Z$/, "Z");
  return age <= allowed
    ? checkResult(
        "backup-age",
        status.database,
        "PASS",
        `last backup ${when}, ${formatAge(age)} ago (${rule})`,
      )
    : checkResult(
        "backup-age",
        status.database,
        "FAIL",
        `last backup ${when}, ${formatAge(age)} ago: older than its ${rule}`,
      );
}

/**
 * Backup age (components/observability/backup-age.ts, scripts/backup/status.ts):
 * the age each schedule allows, the `backup-age` row of `make check`, the
 * metrics `postgres_backup_last_success_timestamp_seconds` and
 * `postgres_backup_max_age_seconds`, and where the time of the last good
 * backup is read from (the newest backup with a manifest in the destination).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import {
  allowedBackupAgeSeconds,
  backupAgeRow,
  scheduleMaxGapSeconds,
} from "../components/observability/backup-age";
import { healthSpec } from "../components/observability/health-spec";
import { buildRegistry } from "../components/observability/metrics";
import { backupIdTime, readBackupStatus } from "../scripts/backup/status";

const H = 3600;
const D = 86_400;

describe("the age a schedule allows", () => {
  it("is the longest gap between runs, plus a quarter of it (at least an hour)", () => {
    expect(scheduleMaxGapSeconds("43 1 * * *")).toBe(D);
    expect(scheduleMaxGapSeconds("0 */6 * * *")).toBe(6 * H);
    expect(scheduleMaxGapSeconds("@hourly")).toBe(H);
    expect(scheduleMaxGapSeconds("30 2 * * mon")).toBe(7 * D);
    // Weekdays only: Friday to Monday.
    expect(scheduleMaxGapSeconds("0 3 * * 1-5")).toBe(3 * D);
    // Monthly: the longest month.
    expect(scheduleMaxGapSeconds("0 0 1 * *")).toBe(31 * D);
    // Day of month or day of week, as cron reads two restricted day fields.
    expect(scheduleMaxGapSeconds("0 0 1,15 * 0")).toBeLessThanOrEqual(7 * D);
    // Syntax this reader does not interpret: the longest a monthly schedule waits.
    expect(scheduleMaxGapSeconds("0 0 L * *")).toBe(32 * D);
    expect(allowedBackupAgeSeconds("43 1 * * *")).toBe(30 * H);
    expect(allowedBackupAgeSeconds("@hourly")).toBe(2 * H);
  });
});

describe("the backup-age row", () => {
  const status = { service: "gdpr", database: "gdpr", schedule: "43 1 * * *" };
  const now = new Date("2026-12-02T03:00:00Z");

  it("passes within the allowed age, fails past it, is pending with no backup or an unreadable destination", () => {
    expect(backupAgeRow({ ...status, lastSuccess: new Date("2026-12-02T01:43:00Z") }, now)).toEqual({
      name: "backup-age gdpr",
      check: "backup-age",
      subject: "gdpr",
      status: "PASS",
      reason: 'last backup 2026-12-02T01:43:00Z, 1h 17m ago (schedule "43 1 * * *" allows 30h)',
    });
    expect(backupAgeRow({ ...status, lastSuccess: new Date("2026-11-30T01:43:00Z") }, now)).toMatchObject({
      status: "FAIL",
      reason:
        'last backup 2026-11-30T01:43:00Z, 49h 17m ago: older than its schedule "43 1 * * *" allows 30h',
    });
    expect(backupAgeRow(status, now)).toMatchObject({
      status: "PENDING",
      reason: 'no backup of gdpr yet (schedule "43 1 * * *" allows 30h)',
    });
    expect(backupAgeRow({ ...status, error: "no such bucket" }, now)).toMatchObject({
      status: "PENDING",
      reason: "cannot read its backups here: no such bucket",
    });
  });
});

describe("the metrics", () => {
  it("export the last good backup's time and the allowed age; nothing for an unreadable destination", async () => {
    const spec = healthSpec("prod", []);
    const snapshot = { currentUser: "m", databases: [], roles: [], contents: {}, connections: [] };
    const registry = buildRegistry(
      spec,
      snapshot,
      [],
      [
        {
          service: "gdpr",
          database: "gdpr",
          schedule: "43 1 * * *",
          lastSuccess: new Date(1_700_000_000_000),
        },
        { service: "openfga", database: "openfga", schedule: "@hourly" },
        { service: "keycloak", database: "keycloak", schedule: "@daily", error: "unreadable" },
      ],
    );
    const text = await registry.metrics();
    expect(text).toContain('postgres_backup_last_success_timestamp_seconds{database="gdpr"} 1700000000\n');
    expect(text).not.toMatch(
      /postgres_backup_last_success_timestamp_seconds\{database="(openfga|keycloak)"\}/,
    );
    expect(text).toContain('postgres_backup_max_age_seconds{database="gdpr"} 108000\n');
    expect(text).toContain('postgres_backup_max_age_seconds{database="openfga"} 7200\n');
    expect(text).not.toContain('postgres_backup_max_age_seconds{database="keycloak"}');
  });
});

describe("where the last good backup is read", () => {
  it("is the newest backup id with a manifest in the service's destination", async () => {
    const dir = mkdtempSync(join(tmpdir(), "backup-status-"));
    try {
      const cfg = parseStackConfig({
        environment: "test",
        target: "local",
        backupDestination: JSON.stringify([
          `gdpr=dir:${dir}`,
          `openfga=dir:${dir}`,
          "keycloak=gs://no-emulator",
        ]),
      });
      const backup = (db: string, id: string, complete: boolean) => {
        mkdirSync(join(dir, db, id), { recursive: true });
        writeFileSync(join(dir, db, id, "gdpr_test.dump"), "");
        if (complete) writeFileSync(join(dir, db, id, "manifest.json"), "{}");
      };
      backup("gdpr_test", "20261201T014300Z", true);
      backup("gdpr_test", "20261202T014300Z", false); // no manifest: incomplete, not a success
      const status = await readBackupStatus("test", cfg.services, dir, {});
      expect(status).toEqual([
        {
          service: "gdpr",
          database: "gdpr_test",
          schedule: "43 1 * * *",
          lastSuccess: new Date("2026-12-01T01:43:00Z"),
        },
        { service: "openfga", database: "openfga_test", schedule: "43 1 * * *" },
        {
          service: "keycloak",
          database: "keycloak_test",
          schedule: "43 1 * * *",
          error: expect.stringContaining("STORAGE_EMULATOR_HOST"),
        },
      ]);
      expect(backupIdTime("latest")).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

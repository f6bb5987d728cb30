/**
 * The instance settings both clouds share (disk, availability, deletion
 * protection, backups, maintenance window, database flags), parsed with the
 * bounds of the target's cloud.
 */
import { Problems, parseBoolean, parseEnum, parseInteger } from "./parse";
import type { RawConfig } from "./parse";
import { CLOUD_DEFAULTS, WEEKDAYS, defaultInstanceName } from "./cloud-types";
import type { Cloud, CloudContext, InstanceConfig } from "./cloud-types";
import { matches, minutesOf, parseDatabaseFlags, str } from "./cloud-fields";

const HH_MM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const INSTANCE_NAME = /^[a-z](?:[a-z0-9]|-(?!-)){0,61}[a-z0-9]$/;

/** The shared instance keys, with the bounds of `cloud` (disk and backup retention limits). */
export function parseInstanceConfig(
  problems: Problems,
  raw: RawConfig,
  ctx: CloudContext,
  cloud: Cloud,
): InstanceConfig {
  const instanceName =
    matches(
      problems,
      "instanceName",
      str(raw.instanceName),
      INSTANCE_NAME,
      "an instance name (lowercase letters, digits and single hyphens; starts with a letter; at most 63 characters)",
    ) ?? defaultInstanceName(ctx.environment);

  const minDisk = cloud === "aws" ? 20 : 10;
  const diskSizeGb = parseInteger(
    problems,
    "diskSizeGb",
    raw.diskSizeGb,
    CLOUD_DEFAULTS.diskSizeGb,
    minDisk,
    65536,
  );
  const diskAutoresize = parseBoolean(
    problems,
    "diskAutoresize",
    raw.diskAutoresize,
    CLOUD_DEFAULTS.diskAutoresize,
  );
  const diskAutoresizeLimitGb = parseInteger(
    problems,
    "diskAutoresizeLimitGb",
    raw.diskAutoresizeLimitGb,
    CLOUD_DEFAULTS.diskAutoresizeLimitGb,
    minDisk,
    65536,
  );
  if (diskAutoresize && diskAutoresizeLimitGb <= diskSizeGb) {
    problems.add(
      "diskAutoresizeLimitGb",
      `${diskAutoresizeLimitGb} must be larger than diskSizeGb (${diskSizeGb}) while diskAutoresize is true`,
    );
  }

  const highAvailability = parseBoolean(
    problems,
    "highAvailability",
    raw.highAvailability,
    CLOUD_DEFAULTS.highAvailability,
  );
  const deletionProtection = parseBoolean(
    problems,
    "deletionProtection",
    raw.deletionProtection,
    CLOUD_DEFAULTS.deletionProtection,
  );
  const finalBackup = parseBoolean(problems, "finalBackup", raw.finalBackup, CLOUD_DEFAULTS.finalBackup);

  // RDS keeps at most 35 days of automated backups; Cloud SQL up to 365 retained backups.
  const maxRetention = cloud === "aws" ? 35 : 365;
  const backupRetentionDays = parseInteger(
    problems,
    "backupRetentionDays",
    raw.backupRetentionDays,
    CLOUD_DEFAULTS.backupRetentionDays,
    1,
    maxRetention,
  );

  let backupStartTime: string = CLOUD_DEFAULTS.backupStartTime;
  const startRaw = str(raw.backupStartTime);
  if (startRaw !== undefined) {
    if (HH_MM.test(startRaw)) backupStartTime = startRaw;
    else
      problems.add("backupStartTime", `${JSON.stringify(startRaw)} is not a UTC time HH:MM (00:00..23:59)`);
  }

  const maintenanceDay =
    parseEnum(problems, "maintenanceDay", raw.maintenanceDay, WEEKDAYS, CLOUD_DEFAULTS.maintenanceDay) ??
    CLOUD_DEFAULTS.maintenanceDay;
  const maintenanceHour = parseInteger(
    problems,
    "maintenanceHour",
    raw.maintenanceHour,
    CLOUD_DEFAULTS.maintenanceHour,
    0,
    23,
  );
  // The backup runs for up to an hour from its start; the maintenance window
  // is an hour. They must not overlap (RDS refuses it; on Cloud SQL a backup
  // during maintenance is delayed).
  const backupStart = minutesOf(backupStartTime);
  const maintenanceStart = maintenanceHour * 60;
  const gap = Math.abs(backupStart - maintenanceStart);
  if (Math.min(gap, 1440 - gap) < 60) {
    problems.add(
      "backupStartTime",
      `${backupStartTime} overlaps the maintenance window (${String(maintenanceHour).padStart(2, "0")}:00 UTC, maintenanceHour): keep an hour between them`,
    );
  }

  const databaseFlags = parseDatabaseFlags(problems, "databaseFlags", raw.databaseFlags);

  return {
    instanceName,
    diskSizeGb,
    diskAutoresize,
    diskAutoresizeLimitGb,
    highAvailability,
    deletionProtection,
    finalBackup,
    backupRetentionDays,
    backupStartTime,
    maintenanceDay,
    maintenanceHour,
    databaseFlags,
  };
}

/**
 * What a DatabasePlatform will build, read and checked before it registers
 * anything: each managed-schema service's migrations (from its own directory,
 * schema/migration-paths.ts), whether they define the retention purge, and the
 * alert rule file when the stack has a cluster and monitoring, and the name
 * of each backup bucket the stack creates (destination `bucket`). Every problem
 * is reported at once, each naming the service and the file or rule.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import type { ServiceConfig, StackConfig } from "../config/stack-config";
import { MigrationFile, readMigrationsDir } from "../schema/migration-files";
import { definesPurgeFunction, migrationsDir } from "../schema/migration-paths";
import { PrometheusRuleDoc, readPrometheusRule } from "../cluster/prometheus-rule";

/** Where the alert rules live, relative to the project root. */
export const ALERT_RULES_FILE = path.join("deployments", "prometheus", "database-alerts.yaml");

export interface ServicePlan {
  service: ServiceConfig;
  /** Managed-schema services: the directory and its files, in version order. */
  migrations?: { dir: string; files: MigrationFile[] };
  /** The retention role's name, when the service's migrations define the purge function. */
  retentionRole?: string;
  /** The BackupBucket's resource name, when the service's backups go to a bucket the stack creates. */
  backupBucket?: string;
}

/** Bucket names hold 63 characters (GCS and S3); Pulumi's auto-name adds `-` and 7 random characters. */
const BUCKET_NAME_MAX = 63;
const AUTONAME_SUFFIX = 8;

/**
 * The BackupBucket of `service` in platform `component`: its bucket is
 * auto-named `<component>-<service>-backups-bucket-<random>`, with `_` as `-`
 * (S3 refuses underscores); a reason when that is too long.
 */
export function backupBucketName(component: string, service: string): { name: string } | { problem: string } {
  const name = `${component}-${service.replace(/_/g, "-")}-backups`;
  const length = `${name}-bucket`.length + AUTONAME_SUFFIX;
  if (length > BUCKET_NAME_MAX || !/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    return {
      problem:
        `service ${JSON.stringify(service)}: its backup bucket "${name}-bucket-<7 random>" would be ${length} characters ` +
        `(a bucket name is at most ${BUCKET_NAME_MAX} of a-z 0-9 -): shorten the service name or the platform's name ${JSON.stringify(component)}, or set backupDestination to an existing gs:// or s3:// bucket`,
    };
  }
  return { name };
}

export interface PlatformPlan {
  services: ServicePlan[];
  /** The parsed rule file (kubernetes and monitoring on), else undefined. */
  alertRules?: PrometheusRuleDoc;
}

export class PlatformPlanError extends Error {
  constructor(
    readonly component: string,
    readonly problems: string[],
  ) {
    super(
      `DatabasePlatform ${component}: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "PlatformPlanError";
  }
}

/** Reads what `config` needs from `root`; throws a PlatformPlanError listing every problem. */
export function planPlatform(component: string, config: StackConfig, root: string): PlatformPlan {
  const problems: string[] = [];
  const services = config.services.map((service): ServicePlan => {
    const plan = planSchema(service);
    if (service.backup.destination.kind !== "bucket") return plan;
    const bucket = backupBucketName(component, service.name);
    if ("problem" in bucket) {
      problems.push(bucket.problem);
      return plan;
    }
    return { ...plan, backupBucket: bucket.name };
  });
  let alertRules: PrometheusRuleDoc | undefined;
  if (config.kubernetes && config.monitoring) {
    try {
      alertRules = readPrometheusRule(path.join(root, ALERT_RULES_FILE));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) throw new PlatformPlanError(component, problems);
  return { services, alertRules };

  /** A managed-schema service's migrations and retention role. */
  function planSchema(service: ServiceConfig): ServicePlan {
    if (service.profile !== "managed-schema") return { service };
    const dir = migrationsDir(root, service.name);
    let files: MigrationFile[] = [];
    try {
      if (existsSync(dir)) files = readMigrationsDir(dir);
    } catch (err) {
      problems.push(`service ${JSON.stringify(service.name)}: ${(err as Error).message}`);
      return { service };
    }
    if (files.length === 0) {
      problems.push(
        `service ${JSON.stringify(service.name)} is managed-schema but ${path.relative(root, dir) || dir} holds no ` +
          `NNN_name.sql migration: add one (e.g. 001_${service.name}_schema.sql), or make the service self-migrating`,
      );
      return { service };
    }
    return {
      service,
      migrations: { dir, files },
      retentionRole: definesPurgeFunction(files) ? service.retentionRole : undefined,
    };
  }
}

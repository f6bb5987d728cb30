/**
 * What a DatabasePlatform will build, read and checked before it registers
 * anything: each managed-schema service's migrations (from its own directory,
 * schema/migration-paths.ts), whether they define the retention purge, and the
 * alert rule file when the stack has a cluster and monitoring. Every problem
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
}

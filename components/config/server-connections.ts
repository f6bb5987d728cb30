/**
 * The server's `max_connections` as the connection budget (connection-budget.ts)
 * needs it, when config does not give it: a Cloud SQL tier's or an RDS
 * class's default (and `serverMaxConnections`, which picks the key, a flag or that
 * default for a stack's config). Pure. The local target reads it from the server instead
 * (read-server-limit.ts).
 *
 * Both are the clouds' documented defaults, derived from the instance's memory:
 * - Cloud SQL: a step table by memory (CLOUDSQL_MAX_CONNECTIONS).
 * - RDS: `LEAST({DBInstanceClassMemory/9531392}, 5000)`. DBInstanceClassMemory
 *   is the class's memory less what the OS and RDS keep (about 8 % on the
 *   classes measured), so the estimate takes 90 % of the nominal memory: it
 *   errs low, never high.
 * Either is overridden by a `max_connections` database flag / parameter, or by
 * the config key `maxConnections`.
 */

import type { CloudConfig } from "./cloud-types";
import type { MaxConnections } from "./connection-budget";
import type { Problems } from "./parse";
import type { Target } from "./types";

const GIB = 1024 ** 3;

/** Cloud SQL for PostgreSQL's default max_connections by memory (GiB, at least). */
export const CLOUDSQL_MAX_CONNECTIONS: readonly (readonly [number, number])[] = [
  [120, 500],
  [60, 400],
  [30, 300],
  [15, 250],
  [7.5, 200],
  [6, 150],
  [3.75, 100],
  [1.7, 50],
  [0, 25],
];

/** Memory in GiB of a Cloud SQL tier, or undefined when the name does not tell it. */
export function cloudSqlTierMemoryGib(tier: string): number | undefined {
  if (tier === "db-f1-micro") return 0.6;
  if (tier === "db-g1-small") return 1.7;
  const custom = /^db-custom-(\d+)-(\d+)$/.exec(tier);
  if (custom) return Number(custom[2]) / 1024;
  // Enterprise Plus performance-optimized: 8 GiB per vCPU.
  const perf = /^db-perf-optimized-n-(\d+)$/i.exec(tier);
  if (perf) return Number(perf[1]) * 8;
  return undefined;
}

/** Cloud SQL's default max_connections for a tier, or undefined for a tier whose memory is unknown. */
export function cloudSqlMaxConnections(tier: string): number | undefined {
  const gib = cloudSqlTierMemoryGib(tier);
  if (gib === undefined) return undefined;
  return CLOUDSQL_MAX_CONNECTIONS.find(([min]) => gib >= min)![1];
}

/** Nominal memory (GiB) of an RDS class size, by family kind: burstable t*, general m*, memory r*. */
const RDS_SIZE_GIB: Record<string, Record<string, number>> = {
  t: { micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, "2xlarge": 32 },
  m: {
    large: 8,
    xlarge: 16,
    "2xlarge": 32,
    "4xlarge": 64,
    "8xlarge": 128,
    "12xlarge": 192,
    "16xlarge": 256,
    "24xlarge": 384,
  },
  r: {
    large: 16,
    xlarge: 32,
    "2xlarge": 64,
    "4xlarge": 128,
    "8xlarge": 256,
    "12xlarge": 384,
    "16xlarge": 512,
    "24xlarge": 768,
  },
};

/** Nominal memory in GiB of an RDS class (db.t4g.medium, db.m7g.xlarge, …), or undefined. */
export function rdsClassMemoryGib(instanceClass: string): number | undefined {
  const m = /^db\.([tmr])\d+[a-z]*\.([0-9]*[a-z]+)$/.exec(instanceClass);
  if (!m) return undefined;
  return RDS_SIZE_GIB[m[1]]?.[m[2]];
}

/** RDS's default max_connections for a class (90 % of nominal memory, see above), or undefined. */
export function rdsMaxConnections(instanceClass: string): number | undefined {
  const gib = rdsClassMemoryGib(instanceClass);
  if (gib === undefined) return undefined;
  return Math.min(Math.floor((gib * GIB * 0.9) / 9531392), 5000);
}

/**
 * The server's max_connections and where it came from: the key
 * maxConnections, else a max_connections database flag, else the Cloud SQL
 * tier's / RDS class's default (server-connections.ts). Undefined for a local
 * target without the key (read-config.ts reads the server). A cloud instance
 * whose default is unknown needs the key.
 */
export function serverMaxConnections(
  problems: Problems,
  key: number,
  target: Target,
  cloud: CloudConfig | undefined,
): MaxConnections | undefined {
  if (key > 0) return { value: key, source: "maxConnections" };
  if (target === "local" || !cloud) return undefined;
  const flag = cloud.databaseFlags.max_connections;
  if (flag !== undefined) {
    if (/^\d+$/.test(flag)) return { value: Number(flag), source: "databaseFlags max_connections" };
    problems.add("databaseFlags", `max_connections=${JSON.stringify(flag)} is not a whole number`);
    return undefined;
  }
  // A missing tier or class is reported by the cloud parser already.
  if ((cloud.cloud === "gcp" ? cloud.tier : cloud.instanceClass) === "") return undefined;
  const [value, source] =
    cloud.cloud === "gcp"
      ? [cloudSqlMaxConnections(cloud.tier), `gcpTier ${JSON.stringify(cloud.tier)}`]
      : [rdsMaxConnections(cloud.instanceClass), `awsInstanceClass ${JSON.stringify(cloud.instanceClass)}`];
  if (value === undefined) {
    problems.add(
      "maxConnections",
      `is required with ${source}: its default max_connections is not known here; set maxConnections ` +
        `(or a max_connections database flag)`,
    );
    return undefined;
  }
  return { value, source: `the default of ${source}` };
}

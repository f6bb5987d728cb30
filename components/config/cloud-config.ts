/**
 * The cloud half of the stack configuration (targets `gcp` and `aws`), as a
 * pure parser. parseStackConfig (stack-config.ts) calls parseCloudConfig with the
 * same Problems collector, so one ConfigError lists every problem of the
 * stack, cloud keys included, each with its key.
 *
 * Keys are flat (Pulumi.yaml project config has no object type): shared
 * instance settings have plain names (`highAvailability`), cloud-specific ones
 * carry the cloud's prefix (`gcpNetwork`, `awsSubnetIds`), so one stack file
 * can hold both clouds' settings and `target` picks which one is used.
 *
 * Defaults are the hardened ones (HA, deletion protection, final backup,
 * private IP only, PITR); a stack loosens one only by setting its key, and the
 * policy pack (policy/) reports it.
 *
 * This module is the entry point and re-exports the rest: the keys, defaults
 * and types (cloud-types.ts), the shared instance settings (cloud-instance.ts),
 * each cloud's keys (cloud-gcp.ts, cloud-aws.ts) and the field parsers they
 * use (cloud-fields.ts).
 */
import { Problems } from "./parse";
import type { RawConfig } from "./parse";
import type { CloudConfig, CloudContext } from "./cloud-types";
import { parseInstanceConfig } from "./cloud-instance";
import { parseGcpConfig } from "./cloud-gcp";
import { parseAwsConfig } from "./cloud-aws";

export {
  CLOUDS,
  WEEKDAYS,
  GCP_EDITIONS,
  GCP_CONNECTIONS,
  CLOUD_CONFIG_KEYS,
  CLOUD_DEFAULTS,
  AWS_MONITORING_INTERVALS,
  defaultInstanceName,
} from "./cloud-types";
export type {
  Cloud,
  Weekday,
  GcpEdition,
  GcpConnection,
  InstanceConfig,
  GcpConfig,
  AwsConfig,
  CloudConfig,
  CloudContext,
} from "./cloud-types";
export { parseDatabaseFlags, minutesOf } from "./cloud-fields";

/**
 * Parses the cloud keys for target gcp or aws (undefined for local: the cloud
 * keys are ignored there). Problems are added to `problems`, each with its
 * key; the caller throws one ConfigError for all of them.
 */
export function parseCloudConfig(
  problems: Problems,
  raw: RawConfig,
  ctx: CloudContext,
): CloudConfig | undefined {
  if (ctx.target !== "gcp" && ctx.target !== "aws") return undefined;
  if (raw.adminPassword !== undefined) {
    problems.add(
      "adminPassword",
      ctx.target === "gcp"
        ? "is set but target gcp generates the admin's password (a secret of the stack); remove it"
        : "is set but target aws keeps the admin's password in Secrets Manager (manageMasterUserPassword); remove it",
    );
  }
  const shared = parseInstanceConfig(problems, raw, ctx, ctx.target);
  return ctx.target === "gcp"
    ? parseGcpConfig(problems, raw, ctx, shared)
    : parseAwsConfig(problems, raw, shared);
}

/**
 * The Cloud SQL keys (`gcp*`) of target gcp: project, region, private network,
 * tier and edition, how the provider connects, public IP and its authorized
 * networks, point-in-time recovery, CMEK.
 */
import { Problems, parseBoolean, parseEnum, parseInteger } from "./parse";
import type { RawConfig } from "./parse";
import { CLOUD_DEFAULTS, GCP_CONNECTIONS, GCP_EDITIONS } from "./cloud-types";
import type { CloudContext, GcpConfig, InstanceConfig } from "./cloud-types";
import { cidrList, matches, required, str } from "./cloud-fields";

const GCP_PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const GCP_REGION = /^[a-z]+-[a-z]+[0-9]+$/;
const GCP_NETWORK =
  /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/global\/networks\/[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const GCP_TIER = /^db-[a-z0-9-]+$/;
const GCP_KMS_KEY = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const GCP_RANGE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

/** The Cloud SQL settings (`gcp*` keys) on top of the shared ones. */
export function parseGcpConfig(
  problems: Problems,
  raw: RawConfig,
  ctx: CloudContext,
  shared: InstanceConfig,
): GcpConfig {
  const project = matches(
    problems,
    "gcpProject",
    required(problems, "gcpProject", raw.gcpProject, "gcp", "the project the instance is created in"),
    GCP_PROJECT,
    "a GCP project id",
  );
  const region = matches(
    problems,
    "gcpRegion",
    required(problems, "gcpRegion", raw.gcpRegion, "gcp", "e.g. europe-west1"),
    GCP_REGION,
    "a GCP region (e.g. europe-west1)",
  );
  const network = matches(
    problems,
    "gcpNetwork",
    required(
      problems,
      "gcpNetwork",
      raw.gcpNetwork,
      "gcp",
      "the VPC network the instance gets its private IP on: projects/{project}/global/networks/{name}",
    ),
    GCP_NETWORK,
    "a VPC network id (projects/{project}/global/networks/{name})",
  );
  const allocatedIpRange = matches(
    problems,
    "gcpAllocatedIpRange",
    str(raw.gcpAllocatedIpRange),
    GCP_RANGE_NAME,
    "the name of an allocated IP range",
  );
  const tier = matches(
    problems,
    "gcpTier",
    required(problems, "gcpTier", raw.gcpTier, "gcp", "the machine tier, e.g. db-custom-2-7680"),
    GCP_TIER,
    "a Cloud SQL tier (db-…)",
  );
  const edition =
    parseEnum(problems, "gcpEdition", raw.gcpEdition, GCP_EDITIONS, CLOUD_DEFAULTS.gcpEdition) ??
    "ENTERPRISE";
  if (tier !== undefined) {
    const perfOptimized = tier.startsWith("db-perf-optimized-");
    if (edition === "ENTERPRISE_PLUS" && !perfOptimized) {
      problems.add(
        "gcpTier",
        `${JSON.stringify(tier)} is not an Enterprise Plus tier (db-perf-optimized-N-…) for gcpEdition ENTERPRISE_PLUS`,
      );
    } else if (edition === "ENTERPRISE" && perfOptimized) {
      problems.add("gcpTier", `${JSON.stringify(tier)} needs gcpEdition ENTERPRISE_PLUS`);
    }
  }

  const connection =
    parseEnum(problems, "gcpConnection", raw.gcpConnection, GCP_CONNECTIONS, CLOUD_DEFAULTS.gcpConnection) ??
    "connector";
  if (connection === "private-ip" && (ctx.sslmode === "verify-ca" || ctx.sslmode === "verify-full")) {
    problems.add(
      "sslmode",
      `"${ctx.sslmode}" needs the instance's CA file, which the provider is not given; use require (the instance accepts only TLS: ENCRYPTED_ONLY)`,
    );
  }

  const publicIp = parseBoolean(problems, "gcpPublicIp", raw.gcpPublicIp, CLOUD_DEFAULTS.gcpPublicIp);
  const authorizedNetworks = cidrList(problems, "gcpAuthorizedNetworks", raw.gcpAuthorizedNetworks);
  if (publicIp && authorizedNetworks.length === 0) {
    problems.add(
      "gcpAuthorizedNetworks",
      "is required when gcpPublicIp is true: a public IP admits only the networks listed here",
    );
  }
  if (!publicIp && authorizedNetworks.length > 0) {
    problems.add(
      "gcpAuthorizedNetworks",
      "is set but gcpPublicIp is false: authorized networks apply to the public IP only",
    );
  }

  const pointInTimeRecovery = parseBoolean(
    problems,
    "gcpPointInTimeRecovery",
    raw.gcpPointInTimeRecovery,
    CLOUD_DEFAULTS.gcpPointInTimeRecovery,
  );
  // Cloud SQL keeps 1-7 days of transaction logs (Enterprise), 1-35 (Enterprise Plus).
  const transactionLogRetentionDays = parseInteger(
    problems,
    "gcpTransactionLogRetentionDays",
    raw.gcpTransactionLogRetentionDays,
    CLOUD_DEFAULTS.gcpTransactionLogRetentionDays,
    1,
    edition === "ENTERPRISE_PLUS" ? 35 : 7,
  );
  if (transactionLogRetentionDays > shared.backupRetentionDays) {
    problems.add(
      "gcpTransactionLogRetentionDays",
      `${transactionLogRetentionDays} is longer than backupRetentionDays (${shared.backupRetentionDays}): point-in-time recovery needs a backup to start from`,
    );
  }
  const kmsKeyName = matches(
    problems,
    "gcpKmsKey",
    str(raw.gcpKmsKey),
    GCP_KMS_KEY,
    "a Cloud KMS key (projects/…/locations/…/keyRings/…/cryptoKeys/…)",
  );

  return {
    cloud: "gcp",
    ...shared,
    project: project ?? "",
    region: region ?? "",
    network: network ?? "",
    allocatedIpRange,
    tier: tier ?? "",
    edition,
    connection,
    publicIp,
    authorizedNetworks,
    pointInTimeRecovery,
    transactionLogRetentionDays,
    kmsKeyName,
  };
}

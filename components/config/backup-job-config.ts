/**
 * The keys of the backups that run in the stack's cluster and of the buckets
 * the stack creates for them (docs/backup.md). Pure: every problem is
 * recorded with its key, the value and the rule.
 *
 * - `backupImage`: the backup job's image (deployments/backup/Dockerfile).
 *   Set, with `kubernetes`: one CronJob per database on its service's
 *   `backupSchedule`. Every service's destination must then be one a pod can
 *   reach: `gs://…`, `s3://…`, or `bucket` on targets gcp and aws (not
 *   `local` or `dir:`, which are folders of the machine running `make
 *   backup`).
 * - `backupIdentities`: per service, the cloud identity of its CronJob's
 *   ServiceAccount (workload identity, no key): a service-account email
 *   (GKE, `iam.gke.io/gcp-service-account`) or an IAM role ARN (EKS,
 *   `eks.amazonaws.com/role-arn`), matching where its backups go.
 * - `backupKmsKey`: the customer-managed key of the buckets the stack creates
 *   (destination `bucket`): a Cloud KMS key in the buckets' region (gcp), a
 *   KMS key ARN in the buckets' region (aws).
 */
import { backupJobName } from "../naming";
import type { Environment } from "../naming";
import { AWS_ROLE_ARN, GCP_SERVICE_ACCOUNT } from "./iam-config";
import { IMAGE_REFERENCE } from "./cluster-config";
import { parseStringList } from "./parse";
import type { Problems, RawConfig } from "./parse";
import type { BackupDestination, BackupPolicy } from "./backup-config";
import type { Target } from "./types";

export const BACKUP_JOB_CONFIG_KEYS = ["backupImage", "backupIdentities", "backupKmsKey"] as const;

export const GCP_KMS_KEY_NAME = /^projects\/([^/]+)\/locations\/([^/]+)\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
/** A CronJob's name holds 52 characters (its Jobs' names add 11). */
export const CRONJOB_NAME_MAX = 52;
export const AWS_KMS_KEY_ARN =
  /^arn:aws[a-z-]*:kms:([a-z]{2}(?:-gov)?-[a-z]+-[0-9]):[0-9]{12}:key\/[A-Za-z0-9-]+$/;

/** The workload identity of a service's backup CronJob. */
export interface BackupIdentity {
  /** `gcp`: a service-account email (GKE); `aws`: an IAM role ARN (EKS). */
  cloud: "gcp" | "aws";
  principal: string;
}

export interface BackupJobConfig {
  /** The backup job's image; no CronJob without it. */
  image?: string;
  /** By service. */
  identities: Map<string, BackupIdentity>;
  /** The customer-managed key of the buckets the stack creates. */
  kmsKey?: string;
}

/** `gs://b/p`, `dir:/x`, … as the config writes it. */
export function destinationText(d: BackupDestination): string {
  if (d.kind === "gcs" || d.kind === "s3") {
    return `${d.kind === "gcs" ? "gs" : "s3"}://${d.bucket}${d.prefix ? `/${d.prefix}` : ""}`;
  }
  return d.kind === "dir" ? `dir:${d.path}` : d.kind;
}

/** The cloud a destination's bucket is in (`bucket`: the target's); undefined for folders. */
function destinationCloud(d: BackupDestination, target: Target): "gcp" | "aws" | undefined {
  if (d.kind === "gcs") return "gcp";
  if (d.kind === "s3") return "aws";
  if (d.kind === "bucket" && target !== "local") return target;
  return undefined;
}

/** Why the backup CronJob's pod cannot write to `d`; undefined when it can. */
export function jobDestinationProblem(d: BackupDestination, target: Target): string | undefined {
  if (destinationCloud(d, target)) return undefined;
  return `${d.kind === "local" ? "the stack's .local/backups/ folder" : "a folder of the machine that runs make backup"} cannot be reached from the backup CronJob's pod`;
}

function parseIdentities(
  problems: Problems,
  raw: string | undefined,
  ctx: { services: readonly string[]; target: Target; policies: Record<string, BackupPolicy> },
): Map<string, BackupIdentity> {
  const key = "backupIdentities";
  const out = new Map<string, BackupIdentity>();
  parseStringList(problems, key, raw, []).forEach((entry, index) => {
    const at = `${key}[${index}]`;
    const m = /^([^=]+)=(.+)$/.exec(String(entry));
    if (!m) {
      problems.add(
        at,
        `${JSON.stringify(entry)} is not service=<identity> (e.g. gdpr=gdpr-backup@my-project.iam.gserviceaccount.com)`,
      );
      return;
    }
    const [service, principal] = [m[1].trim(), m[2].trim()];
    if (!ctx.services.includes(service)) {
      problems.add(at, `"${service}" is not one of the configured services (${ctx.services.join(", ")})`);
      return;
    }
    if (out.has(service)) {
      problems.add(at, `service "${service}" is listed twice`);
      return;
    }
    const cloud = GCP_SERVICE_ACCOUNT.test(principal)
      ? "gcp"
      : AWS_ROLE_ARN.test(principal)
        ? "aws"
        : undefined;
    if (!cloud) {
      problems.add(
        at,
        `${JSON.stringify(principal)} is not a service-account email (name@project.iam.gserviceaccount.com, GKE) ` +
          `or an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>, EKS)`,
      );
      return;
    }
    const destination = ctx.policies[service]?.destination;
    const writesTo = destination && destinationCloud(destination, ctx.target);
    if (destination && writesTo !== cloud) {
      problems.add(
        at,
        `${JSON.stringify(principal)} is ${cloud === "gcp" ? "a GCP service account" : "an AWS IAM role"}, but ${service}'s backups go to ` +
          `${destinationText(destination)}${writesTo ? "" : " (no cloud)"}: the identity must be of the destination's cloud`,
      );
      return;
    }
    out.set(service, { cloud, principal });
  });
  return out;
}

function parseKmsKey(
  problems: Problems,
  raw: string | undefined,
  ctx: { target: Target; policies: Record<string, BackupPolicy>; region?: string },
): string | undefined {
  const key = "backupKmsKey";
  const value = raw === undefined || raw === "" ? undefined : raw.trim();
  if (value === undefined) return undefined;
  if (ctx.target === "local") {
    problems.add(
      key,
      `${JSON.stringify(value)} is set but target is "local": it encrypts the buckets the stack creates on targets gcp and aws`,
    );
    return undefined;
  }
  if (!Object.values(ctx.policies).some((p) => p.destination.kind === "bucket")) {
    problems.add(
      key,
      `${JSON.stringify(value)} is set but no service's backups go to a bucket the stack creates (backupDestination bucket): remove it, or encrypt your own bucket`,
    );
    return undefined;
  }
  const m = (ctx.target === "gcp" ? GCP_KMS_KEY_NAME : AWS_KMS_KEY_ARN).exec(value);
  if (!m) {
    problems.add(
      key,
      ctx.target === "gcp"
        ? `${JSON.stringify(value)} is not a Cloud KMS key name (projects/<project>/locations/<region>/keyRings/<ring>/cryptoKeys/<key>)`
        : `${JSON.stringify(value)} is not a KMS key ARN (arn:aws:kms:<region>:<12 digits>:key/<key id>)`,
    );
    return undefined;
  }
  const keyRegion = ctx.target === "gcp" ? m[2] : m[1];
  if (ctx.region && keyRegion !== ctx.region) {
    problems.add(
      key,
      `${JSON.stringify(value)} is in ${keyRegion}, but the buckets are in ${ctx.region} (${ctx.target === "gcp" ? "gcpRegion" : "awsRegion"}): ` +
        `${ctx.target === "gcp" ? "a GCS bucket's Cloud KMS key must be in the bucket's location" : "S3 uses a KMS key of the bucket's region only"}`,
    );
    return undefined;
  }
  return value;
}

/**
 * Parses the backup job's keys against the services' policies (their
 * destinations and schedules, backup-config.ts).
 */
export function parseBackupJobConfig(
  problems: Problems,
  raw: RawConfig,
  ctx: {
    services: readonly string[];
    target: Target;
    environment: Environment;
    kubernetes: boolean;
    policies: Record<string, BackupPolicy>;
    /** gcpRegion or awsRegion as configured: where the stack's buckets are. */
    region?: string;
  },
): BackupJobConfig {
  const image = raw.backupImage === undefined || raw.backupImage === "" ? undefined : raw.backupImage;
  if (image !== undefined && !IMAGE_REFERENCE.test(image)) {
    problems.add("backupImage", `${JSON.stringify(image)} is not an image reference`);
  } else if (image !== undefined && !ctx.kubernetes) {
    problems.add(
      "backupImage",
      `${JSON.stringify(image)} is set but kubernetes is false: the backup CronJobs run in the stack's cluster; ` +
        "set kubernetes to true, or remove backupImage and run make backup",
    );
  }
  if (image !== undefined && ctx.kubernetes) {
    for (const service of ctx.services) {
      const policy = ctx.policies[service];
      if (!policy) continue;
      const reason = jobDestinationProblem(policy.destination, ctx.target);
      if (reason) {
        problems.add(
          "backupDestination",
          `${service}'s destination ${destinationText(policy.destination)}: ${reason} (backupImage is set); ` +
            `give ${service} gs://<bucket>[/prefix] or s3://<bucket>[/prefix]${ctx.target === "local" ? "" : " or bucket"}, or remove backupImage and run make backup`,
        );
      }
      const name = backupJobName(service, ctx.environment);
      if (name.length > CRONJOB_NAME_MAX) {
        problems.add(
          "services",
          `${service}'s backup CronJob "${name}" is ${name.length} characters, more than a CronJob's ${CRONJOB_NAME_MAX} (backupImage is set): shorten the service name`,
        );
      }
      if (/[LW#]/.test(policy.schedule)) {
        problems.add(
          "backupSchedule",
          `${service}'s "${policy.schedule}" uses L, W or #, which a Kubernetes CronJob does not take (backupImage is set)`,
        );
      }
    }
  }
  const identities = parseIdentities(problems, raw.backupIdentities, ctx);
  if (identities.size > 0 && image === undefined) {
    problems.add(
      "backupIdentities",
      "is set but backupImage is unset: the identities are the backup CronJobs' ServiceAccounts'",
    );
  }
  return { image, identities, kmsKey: parseKmsKey(problems, raw.backupKmsKey, ctx) };
}

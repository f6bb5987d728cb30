/**
 * DatabasePlatform's backups beyond the roles: one BackupBucket per service
 * whose destination is `bucket` (targets gcp and aws), encrypted with the
 * stack's `backupKmsKey` and writable by the service's backup identity; and
 * what each backup CronJob is given (PlatformCluster, with `backupImage`).
 */
import * as pulumi from "@pulumi/pulumi";
import { backupJobName } from "../naming";
import type { ServiceConfig, StackConfig } from "../config/stack-config";
import { destinationText } from "../config/backup-job-config";
// Loaded only when a service's backups go to a bucket the stack creates (targets gcp and aws).
import type { BackupBucket } from "../backup/backup-bucket";
import type { PlatformClusterBackup } from "./platform-cluster";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadBackupBucket = () => require("../backup/backup-bucket") as typeof import("../backup/backup-bucket");

export interface PlatformBucket {
  service: string;
  bucket: BackupBucket;
}

/** The buckets of the services whose `plan.backupBucket` names one, children of `parent`. */
export function createBackupBuckets(
  parent: pulumi.Resource,
  cfg: StackConfig,
  services: { svc: ServiceConfig; plan: { backupBucket?: string } }[],
): PlatformBucket[] {
  const cloud = cfg.cloud;
  if (!cloud) return [];
  return services.flatMap((s) => {
    const bucketName = s.plan.backupBucket;
    if (!bucketName) return [];
    const identity = s.svc.backupIdentity;
    const bucket: BackupBucket = new (loadBackupBucket().BackupBucket)(
      bucketName,
      {
        cloud: cloud.cloud,
        policy: s.svc.backup,
        ...(cloud.cloud === "gcp" ? { gcpProject: cloud.project, gcpLocation: cloud.region } : {}),
        ...(cfg.backupKmsKey ? { kmsKey: cfg.backupKmsKey } : {}),
        ...(identity?.cloud === cloud.cloud ? { writer: identity.principal } : {}),
      },
      { parent },
    );
    return [{ service: s.svc.name, bucket }];
  });
}

/** Each service's backup CronJob: its policy, where it writes, its identity and role. */
export function backupJobs(
  cfg: StackConfig,
  roles: {
    service: ServiceConfig;
    role: { roleName: pulumi.Output<string>; password: pulumi.Output<string> };
  }[],
  buckets: PlatformBucket[],
): PlatformClusterBackup[] {
  return roles.map(({ service: svc, role }) => {
    const bucket = buckets.find((b) => b.service === svc.name)?.bucket;
    if (svc.backup.destination.kind === "bucket" && !bucket) {
      throw new Error(`service ${svc.name}: its backups go to the stack's bucket, but it has none`);
    }
    return {
      service: svc.name,
      cronJobName: backupJobName(svc.name, cfg.environment),
      database: svc.database,
      schedule: svc.backup.schedule,
      retention: svc.backup.retention,
      locked: svc.backup.locked,
      destination: bucket ? bucket.url : destinationText(svc.backup.destination),
      identity: svc.backupIdentity,
      roleName: role.roleName,
      password: role.password,
    };
  });
}

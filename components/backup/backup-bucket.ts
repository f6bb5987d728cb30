import * as pulumi from "@pulumi/pulumi";
import type { BackupPolicy } from "../config/backup-config";
import { iamRoleName } from "../database/iam-login";

// Each cloud's SDK is loaded by the branch that uses it: a GCS bucket never
// loads @pulumi/aws, an S3 bucket never @pulumi/gcp (tests/loaded-packages.test.ts).
/* eslint-disable @typescript-eslint/no-require-imports */
const loadGcp = () => require("@pulumi/gcp") as typeof import("@pulumi/gcp");
const loadAws = () => require("@pulumi/aws") as typeof import("@pulumi/aws");
/* eslint-enable @typescript-eslint/no-require-imports */

export interface BackupBucketArgs {
  /** Where the bucket lives: `gcp` (a GCS bucket) or `aws` (an S3 bucket). */
  cloud: "gcp" | "aws";
  /**
   * The bucket's name (globally unique).
   * @default Pulumi's auto-name: the resource name and a random suffix
   */
  bucketName?: string;
  /** The service's backup policy (config/backup-config.ts): retention and lock. */
  policy: BackupPolicy;
  /** GCP project and location (region) of a GCS bucket. */
  gcpProject?: string;
  gcpLocation?: string;
  /**
   * Customer-managed key: a Cloud KMS key name (gcp) or a KMS key id/ARN (aws).
   * @default Google-managed encryption (gcp); the AWS-managed `aws/s3` key with SSE-KMS (aws)
   */
  kmsKey?: string;
  /**
   * The identity the backup job writes as (config `backupIdentities`): a
   * service account (gcp, GKE workload identity) or an IAM role ARN (aws,
   * EKS IAM roles for service accounts). It may create objects and read them
   * (list, get: a restore, the erasure-log copies), not delete them: on GCS
   * as object creator and viewer, on S3 through a policy on the role
   * (s3WriterPolicy), with the customer-managed key's use when there is one.
   * @default none: grant access outside the stack
   */
  writer?: string;
}

/**
 * The policy on the backup job's IAM role for its S3 bucket (pure): list the
 * bucket, read objects, write them with their Object Lock retention; no
 * delete, no change to the bucket. With a customer-managed key, the key's use
 * for those objects (an SSE-KMS upload generates a data key, a download
 * decrypts it).
 */
export function s3WriterPolicy(bucketArn: string, kmsKey?: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "ListBackups", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn },
      {
        Sid: "ReadAndWriteBackups",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:PutObjectRetention"],
        Resource: `${bucketArn}/*`,
      },
      ...(kmsKey
        ? [
            {
              Sid: "UseBucketKey",
              Effect: "Allow",
              Action: ["kms:GenerateDataKey", "kms:Decrypt"],
              Resource: kmsKey,
            },
          ]
        : []),
    ],
  });
}

/**
 * One service's backup bucket, hardened, with its retention enforced by the
 * storage itself.
 *
 * GCS: uniform bucket-level access, public access prevention enforced, a
 * retention policy of the service's retention (locked when the policy is
 * locked: prod, a year or more; locking cannot be undone), a lifecycle rule
 * deleting objects once their retention is over, versioning off (the
 * retention policy already keeps every object), optional CMEK, and the backup
 * job's service account as object creator and viewer (optional).
 *
 * S3: Object Lock enabled at creation with a default retention of the
 * service's days (COMPLIANCE when locked: nobody, root included, can shorten
 * or delete; GOVERNANCE otherwise), versioning (Object Lock requires it), a
 * lifecycle rule expiring objects and their old versions after the retention,
 * SSE-KMS with a bucket key, every public access blocked, owner-enforced
 * object ownership (no ACLs), and the backup job's IAM role allowed to list,
 * read and write (optional).
 *
 * Neither bucket can be deleted with objects in it (forceDestroy false).
 */
export class BackupBucket extends pulumi.ComponentResource {
  /** The bucket's name. */
  public readonly bucketName: pulumi.Output<string>;
  /** `gs://name` or `s3://name`. */
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:BackupBucket", name, {}, opts);
    const days = args.policy.retentionDays;
    if (!Number.isInteger(days) || days < 1) {
      throw new Error(`BackupBucket ${name}: retention ${days} days is not a positive whole number of days`);
    }

    if (args.cloud === "gcp") {
      if (!args.gcpProject || !args.gcpLocation) {
        throw new Error(`BackupBucket ${name}: a GCS bucket needs gcpProject and gcpLocation`);
      }
      const gcp = loadGcp();
      const bucket = new gcp.storage.Bucket(
        `${name}-bucket`,
        {
          ...(args.bucketName ? { name: args.bucketName } : {}),
          project: args.gcpProject,
          location: args.gcpLocation,
          storageClass: "STANDARD",
          uniformBucketLevelAccess: true,
          publicAccessPrevention: "enforced",
          forceDestroy: false,
          retentionPolicy: { retentionPeriod: String(days * 86_400), isLocked: args.policy.locked },
          lifecycleRules: [{ action: { type: "Delete" }, condition: { age: days + 1 } }],
          ...(args.kmsKey ? { encryption: { defaultKmsKeyName: args.kmsKey } } : {}),
        },
        { parent: this, protect: args.policy.locked },
      );
      if (args.writer) {
        for (const [role, suffix] of [
          ["roles/storage.objectCreator", "writer"],
          ["roles/storage.objectViewer", "reader"],
        ]) {
          new gcp.storage.BucketIAMMember(
            `${name}-${suffix}`,
            { bucket: bucket.name, role, member: `serviceAccount:${args.writer}` },
            { parent: this },
          );
        }
      }
      this.bucketName = bucket.name;
      this.url = pulumi.interpolate`gs://${bucket.name}`;
    } else {
      const aws = loadAws();
      const bucket = new aws.s3.Bucket(
        `${name}-bucket`,
        {
          ...(args.bucketName ? { bucket: args.bucketName } : {}),
          objectLockEnabled: true,
          forceDestroy: false,
        },
        { parent: this, protect: args.policy.locked },
      );
      new aws.s3.BucketOwnershipControls(
        `${name}-ownership`,
        { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
        { parent: this },
      );
      new aws.s3.BucketPublicAccessBlock(
        `${name}-public-access`,
        {
          bucket: bucket.id,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
        { parent: this },
      );
      const versioning = new aws.s3.BucketVersioning(
        `${name}-versioning`,
        { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
        { parent: this },
      );
      new aws.s3.BucketObjectLockConfiguration(
        `${name}-object-lock`,
        {
          bucket: bucket.id,
          rule: { defaultRetention: { mode: args.policy.locked ? "COMPLIANCE" : "GOVERNANCE", days } },
        },
        { parent: this, dependsOn: [versioning] },
      );
      new aws.s3.BucketLifecycleConfiguration(
        `${name}-lifecycle`,
        {
          bucket: bucket.id,
          rules: [
            {
              id: "expire-after-retention",
              status: "Enabled",
              filter: {},
              expiration: { days: days + 1 },
              noncurrentVersionExpiration: { noncurrentDays: 1 },
            },
          ],
        },
        { parent: this, dependsOn: [versioning] },
      );
      new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-encryption`,
        {
          bucket: bucket.id,
          rules: [
            {
              applyServerSideEncryptionByDefault: {
                sseAlgorithm: "aws:kms",
                ...(args.kmsKey ? { kmsMasterKeyId: args.kmsKey } : {}),
              },
              bucketKeyEnabled: true,
            },
          ],
        },
        { parent: this },
      );
      if (args.writer) {
        new aws.iam.RolePolicy(
          `${name}-writer`,
          {
            role: iamRoleName(args.writer),
            name: pulumi.interpolate`${bucket.bucket}-backup-writer`,
            policy: bucket.arn.apply((arn) => s3WriterPolicy(arn, args.kmsKey)),
          },
          { parent: this },
        );
      }
      this.bucketName = bucket.bucket;
      this.url = pulumi.interpolate`s3://${bucket.bucket}`;
    }
    this.registerOutputs({ bucketName: this.bucketName, url: this.url });
  }
}

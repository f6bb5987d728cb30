/**
 * BackupBucket under mocks: the GCS bucket (retention policy of the service's
 * days, locked for a locked policy, lifecycle delete after it, uniform access,
 * public access prevention, optional CMEK) and the S3 bucket (Object Lock in
 * COMPLIANCE mode for a locked policy, GOVERNANCE otherwise, versioning,
 * lifecycle expiry, SSE-KMS, public access blocked).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import { installMocks, ofType, protects, resetRecorded, settle, unwrap } from "./helpers/mocks";

const PROD_GCP = {
  environment: "prod",
  target: "gcp",
  gcpProject: "platform-db-prod",
  gcpRegion: "europe-west1",
  gcpNetwork: "projects/platform-db-prod/global/networks/platform-vpc",
  gcpTier: "db-custom-1-3840",
};
const policies = Object.fromEntries(parseStackConfig(PROD_GCP).services.map((s) => [s.name, s.backup]));

async function load() {
  await installMocks();
  return import("../components/backup/backup-bucket");
}

describe("BackupBucket", () => {
  beforeEach(() => resetRecorded());

  it("GCS: gdpr's 7 years locked in prod, openfga's 30 days not; hardened either way", async () => {
    const { BackupBucket } = await load();
    const gdpr = new BackupBucket("gdpr-backups", {
      cloud: "gcp",
      bucketName: "platform-db-prod-gdpr-backups",
      policy: policies.gdpr,
      gcpProject: "platform-db-prod",
      gcpLocation: "europe-west1",
      kmsKey: "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/backups",
    });
    new BackupBucket("openfga-backups", {
      cloud: "gcp",
      bucketName: "platform-db-prod-openfga-backups",
      policy: policies.openfga,
      gcpProject: "platform-db-prod",
      gcpLocation: "europe-west1",
    });
    expect(await unwrap(gdpr.url)).toBe("gs://platform-db-prod-gdpr-backups");
    await settle();
    const buckets = ofType("gcp:storage/bucket:Bucket");
    const byName = (n: string) => buckets.find((b) => b.inputs.name === n)!;
    const g = byName("platform-db-prod-gdpr-backups");
    expect(g.inputs).toMatchObject({
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      forceDestroy: false,
      retentionPolicy: { retentionPeriod: String(2557 * 86400), isLocked: true },
      lifecycleRules: [{ action: { type: "Delete" }, condition: { age: 2558 } }],
      encryption: { defaultKmsKeyName: "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/backups" },
    });
    const o = byName("platform-db-prod-openfga-backups");
    expect(protects.get(g.name)).toBe(true);
    expect(protects.get(o.name)).toBe(false);
    expect(o.inputs.retentionPolicy).toEqual({ retentionPeriod: String(30 * 86400), isLocked: false });
    expect(o.inputs.lifecycleRules).toEqual([{ action: { type: "Delete" }, condition: { age: 31 } }]);
    expect(o.inputs.encryption).toBeUndefined();
  });

  it("S3: Object Lock COMPLIANCE for gdpr in prod, GOVERNANCE for 30 days; lifecycle, SSE-KMS, no public access", async () => {
    const { BackupBucket } = await load();
    new BackupBucket("gdpr-backups", {
      cloud: "aws",
      bucketName: "acme-prod-gdpr-backups",
      policy: policies.gdpr,
    });
    new BackupBucket("keycloak-backups", {
      cloud: "aws",
      bucketName: "acme-prod-keycloak-backups",
      policy: policies.keycloak,
      kmsKey: "alias/backups",
    });
    await settle();
    const bucket = ofType("aws:s3/bucket:Bucket").find((b) => b.inputs.bucket === "acme-prod-gdpr-backups")!;
    expect(bucket.inputs).toMatchObject({ objectLockEnabled: true, forceDestroy: false });
    const of = (type: string, prefix: string) => ofType(type).find((r) => r.name.startsWith(prefix))!.inputs;
    expect(of("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "gdpr").rule).toEqual({
      defaultRetention: { mode: "COMPLIANCE", days: 2557 },
    });
    expect(of("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "keycloak").rule).toEqual(
      {
        defaultRetention: { mode: "GOVERNANCE", days: 30 },
      },
    );
    expect(of("aws:s3/bucketVersioning:BucketVersioning", "gdpr").versioningConfiguration).toEqual({
      status: "Enabled",
    });
    expect(of("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "keycloak").rules).toEqual([
      expect.objectContaining({ status: "Enabled", expiration: { days: 31 } }),
    ]);
    expect(of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "gdpr")).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const sse = (prefix: string) =>
      of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", prefix)
        .rules;
    expect(sse("gdpr")).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true },
    ]);
    expect(sse("keycloak")).toEqual([
      {
        applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "alias/backups" },
        bucketKeyEnabled: true,
      },
    ]);
  });

  it("refuses a GCS bucket without project and location", async () => {
    const { BackupBucket } = await load();
    expect(
      () => new BackupBucket("x", { cloud: "gcp", bucketName: "x-backups", policy: policies.gdpr }),
    ).toThrow("BackupBucket x: a GCS bucket needs gcpProject and gcpLocation");
  });
});

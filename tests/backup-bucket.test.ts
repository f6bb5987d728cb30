/**
 * BackupBucket under mocks: the GCS bucket (retention policy of the service's
 * days, locked for a locked policy, lifecycle delete after it, uniform access,
 * public access prevention, optional CMEK) and the S3 bucket (Object Lock in
 * COMPLIANCE mode for a locked policy, GOVERNANCE otherwise, versioning,
 * lifecycle expiry, SSE-KMS, public access blocked); the config key
 * backupKmsKey as both buckets' customer-managed key, and the backup job's
 * identity: a GCS bucket's object creator and viewer, an S3 bucket's
 * reader and writer through a policy on its IAM role.
 */
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import { backupBucketName, planPlatform } from "../components/platform/platform-plan";
import { cloudMocks, stackFileConfig } from "./helpers/cloud-mocks";
import { installMocks, ofType, protects, resetRecorded, settle, unwrap } from "./helpers/mocks";
import { resource, runProgram } from "./helpers/run-program";

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

  it("a writer (the backup job's service account) may create and read objects on GCS", async () => {
    const { BackupBucket } = await load();
    const sa = "gdpr-backup@platform-db-prod.iam.gserviceaccount.com";
    new BackupBucket("gdpr-backups", {
      cloud: "gcp",
      policy: policies.gdpr,
      gcpProject: "platform-db-prod",
      gcpLocation: "europe-west1",
      writer: sa,
    });
    await settle();
    expect(
      ofType("gcp:storage/bucketIAMMember:BucketIAMMember").map((m) => [m.inputs.role, m.inputs.member]),
    ).toEqual([
      ["roles/storage.objectCreator", `serviceAccount:${sa}`],
      ["roles/storage.objectViewer", `serviceAccount:${sa}`],
    ]);
  });

  it("a writer on S3 (the backup job's IAM role) may list, read and write with retention and use the key, never delete", async () => {
    const { BackupBucket } = await load();
    await installMocks({}, "platform-databases", "test", cloudMocks());
    const key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    new BackupBucket("gdpr-backups", {
      cloud: "aws",
      bucketName: "gdpr-backups-prod",
      policy: policies.gdpr,
      kmsKey: key,
      writer: "arn:aws:iam::123456789012:role/eks/gdpr-backup",
    });
    await settle();
    const [policy] = ofType("aws:iam/rolePolicy:RolePolicy");
    expect(policy.inputs.role).toBe("gdpr-backup");
    expect(policy.inputs.name).toBe("gdpr-backups-prod-backup-writer");
    const doc = JSON.parse(policy.inputs.policy as string) as {
      Statement: { Action: string | string[]; Resource: string }[];
    };
    const bucketArn = "arn:aws:s3:::gdpr-backups-prod";
    expect(doc.Statement.map((st) => [st.Action, st.Resource])).toEqual([
      ["s3:ListBucket", bucketArn],
      [["s3:GetObject", "s3:PutObject", "s3:PutObjectRetention"], `${bucketArn}/*`],
      [["kms:GenerateDataKey", "kms:Decrypt"], key],
    ]);
    const actions = doc.Statement.flatMap((st) => st.Action);
    expect(actions.some((a) => /Delete|PutBucket|BypassGovernance/.test(a))).toBe(false);
  });

  it("refuses a GCS bucket without project and location", async () => {
    const { BackupBucket } = await load();
    expect(
      () => new BackupBucket("x", { cloud: "gcp", bucketName: "x-backups", policy: policies.gdpr }),
    ).toThrow("BackupBucket x: a GCS bucket needs gcpProject and gcpLocation");
  });
});

/** The program on the prod and dev stack files (tests/helpers/run-program.ts), as tests/cloud-stacks.test.ts runs it. */
describe("the stack creates a backup bucket per service whose destination is `bucket`", () => {
  const GCS = "gcp:storage/bucket:Bucket";
  const S3 = "aws:s3/bucket:Bucket";
  const LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration";

  it("prod on gcp: one GCS bucket per service, gdpr's locked for 7 years, exported as backupBuckets", async () => {
    const run = await runProgram(stackFileConfig("prod", { target: "gcp" }), "prod", cloudMocks());
    const buckets = run.resources.filter((r) => r.type === GCS);
    expect(buckets.map((b) => b.name).sort()).toEqual([
      "platform-gdpr-backups-bucket",
      "platform-keycloak-backups-bucket",
      "platform-openfga-backups-bucket",
    ]);
    const gdpr = resource(run, GCS, "platform-gdpr-backups-bucket");
    expect(gdpr.inputs).toMatchObject({
      project: "platform-db-prod",
      location: "europe-west1",
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      retentionPolicy: { retentionPeriod: String(2557 * 86400), isLocked: true },
    });
    // Auto-named (globally unique), never a fixed name another project could hold.
    expect(gdpr.inputs.name).toBeUndefined();
    expect(run.protect.get("platform-gdpr-backups-bucket")).toBe(true);
    expect(resource(run, GCS, "platform-openfga-backups-bucket").inputs.retentionPolicy).toEqual({
      retentionPeriod: String(30 * 86400),
      isLocked: false,
    });
    expect(run.resources.some((r) => r.type.startsWith("aws:"))).toBe(false);
    const urls = await unwrap(run.program.backupBuckets);
    expect(Object.keys(urls).sort()).toEqual(["gdpr", "keycloak", "openfga"]);
    expect(urls.gdpr).toMatch(/^gs:\/\//);
  }, 120_000);

  it("prod on aws: S3 buckets with Object Lock, COMPLIANCE for gdpr, GOVERNANCE for the 30-day services", async () => {
    const run = await runProgram(stackFileConfig("prod", { target: "aws" }), "prod", cloudMocks());
    expect(run.resources.filter((r) => r.type === S3).length).toBe(3);
    expect(resource(run, S3, "platform-gdpr-backups-bucket").inputs).toMatchObject({
      objectLockEnabled: true,
      forceDestroy: false,
    });
    expect(resource(run, LOCK, "platform-gdpr-backups-object-lock").inputs.rule).toEqual({
      defaultRetention: { mode: "COMPLIANCE", days: 2557 },
    });
    expect(resource(run, LOCK, "platform-keycloak-backups-object-lock").inputs.rule).toEqual({
      defaultRetention: { mode: "GOVERNANCE", days: 30 },
    });
    expect(run.resources.some((r) => r.type.startsWith("gcp:"))).toBe(false);
  }, 120_000);

  it("staging: nothing locked; a service sent to an existing bucket gets none; a local stack none at all", async () => {
    const staging = await runProgram(
      stackFileConfig("staging", {
        target: "gcp",
        backupDestination: JSON.stringify(["keycloak=gs://existing-backups/keycloak"]),
      }),
      "staging",
      cloudMocks(),
    );
    const names = staging.resources.filter((r) => r.type === GCS).map((r) => r.name);
    expect(names.sort()).toEqual(["platform-gdpr-backups-bucket", "platform-openfga-backups-bucket"]);
    expect(resource(staging, GCS, "platform-gdpr-backups-bucket").inputs.retentionPolicy).toMatchObject({
      isLocked: false,
    });
    const dev = await runProgram(stackFileConfig("dev"), "dev");
    expect(dev.resources.filter((r) => r.type.includes("Bucket"))).toEqual([]);
    expect(await unwrap(dev.program.backupBuckets)).toEqual({});
  }, 120_000);

  it("backupKmsKey is each bucket's customer-managed key: CMEK on GCS, SSE-KMS with it on S3", async () => {
    const gcpKey = "projects/platform-db-prod/locations/europe-west1/keyRings/backups/cryptoKeys/backups";
    const gcp = await runProgram(
      stackFileConfig("prod", { target: "gcp", backupKmsKey: gcpKey }),
      "prod",
      cloudMocks(),
    );
    for (const service of ["gdpr", "openfga", "keycloak"]) {
      expect(resource(gcp, GCS, `platform-${service}-backups-bucket`).inputs.encryption).toEqual({
        defaultKmsKeyName: gcpKey,
      });
    }
    const awsKey = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const aws = await runProgram(
      stackFileConfig("prod", { target: "aws", backupKmsKey: awsKey }),
      "prod",
      cloudMocks(),
    );
    const sse = aws.resources.filter(
      (r) =>
        r.type === "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    );
    expect(sse).toHaveLength(3);
    for (const r of sse) {
      expect(r.inputs.rules).toEqual([
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: awsKey },
          bucketKeyEnabled: true,
        },
      ]);
    }
    // Without the key: Google-managed encryption, and S3's AWS-managed key.
    const plainGcp = await runProgram(stackFileConfig("prod", { target: "gcp" }), "prod", cloudMocks());
    expect(resource(plainGcp, GCS, "platform-gdpr-backups-bucket").inputs.encryption).toBeUndefined();
  }, 180_000);

  it("refuses, before anything is registered, a service whose bucket name would be too long", () => {
    const service = "a_very_long_service_name_for_buckets";
    expect(backupBucketName("platform", "openfga")).toEqual({ name: "platform-openfga-backups" });
    expect(backupBucketName("platform", service)).toEqual({
      problem: expect.stringContaining(
        `service "${service}": its backup bucket "platform-a-very-long-service-name-for-buckets-backups-bucket-<7 random>" would be 68 characters (a bucket name is at most 63 of a-z 0-9 -)`,
      ),
    });
    const cfg = parseStackConfig({ ...PROD_GCP, services: JSON.stringify(["gdpr", service]) });
    expect(() => planPlatform("platform", cfg, join(__dirname, ".."))).toThrow(
      /DatabasePlatform platform: 1 problem:\n {2}- service "a_very_long_service_name_for_buckets": its backup bucket/,
    );
  });
});

/**
 * The backup job's keys (components/config/backup-job-config.ts): backupImage
 * (with kubernetes; every destination must be one a pod reaches),
 * backupIdentities (a GKE service account or an EKS role, of the
 * destination's cloud) and backupKmsKey (a Cloud KMS key name on gcp, a KMS
 * key ARN on aws, in the buckets' region). Every bad value is refused with
 * its key, the value and the rule, before anything is registered.
 */
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import type { RawConfig } from "../components/config/stack-config";
import { destinationText, jobDestinationProblem } from "../components/config/backup-job-config";
import { problemsOf } from "./helpers/config-problems";

const IMAGE = "registry.example/platform-databases-backup:17-1";
const SA = "gdpr-backup@platform-db-prod.iam.gserviceaccount.com";
const ROLE = "arn:aws:iam::123456789012:role/gdpr-backup";
const CLUSTER: RawConfig = { environment: "test", kubernetes: "true", namespace: "databases" };
const TO_GCS: RawConfig = {
  ...CLUSTER,
  backupDestination: JSON.stringify(["gdpr", "openfga", "keycloak"].map((s) => `${s}=gs://backups/${s}`)),
};
const GCP_PROD: RawConfig = {
  environment: "prod",
  target: "gcp",
  gcpProject: "platform-db-prod",
  gcpRegion: "europe-west1",
  gcpNetwork: "projects/platform-db-prod/global/networks/platform-vpc",
  gcpTier: "db-custom-1-3840",
};
const AWS_PROD: RawConfig = {
  environment: "prod",
  target: "aws",
  awsRegion: "eu-central-1",
  awsVpcId: "vpc-0123456789abcdef0",
  awsSubnetIds: '["subnet-0123456789abcdef0","subnet-0123456789abcdef1"]',
  awsInstanceClass: "db.m7g.large",
  awsAllowedSecurityGroupIds: '["sg-0123456789abcdef0"]',
};
const GCP_KEY = "projects/platform-db-prod/locations/europe-west1/keyRings/backups/cryptoKeys/backups";
const AWS_KEY = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("backupImage", () => {
  it("is off by default; with gs:// destinations it gives every service's CronJob its image", () => {
    expect(parseStackConfig(CLUSTER).backupImage).toBeUndefined();
    const cfg = parseStackConfig({ ...TO_GCS, backupImage: IMAGE });
    expect(cfg.backupImage).toBe(IMAGE);
    expect(cfg.services.map((s) => s.backupIdentity)).toEqual([undefined, undefined, undefined]);
  });

  it("is refused without kubernetes, and when it is not an image reference", () => {
    expect(problemsOf({ environment: "test", backupImage: IMAGE })).toEqual([
      `backupImage: "${IMAGE}" is set but kubernetes is false: the backup CronJobs run in the stack's cluster; set kubernetes to true, or remove backupImage and run make backup`,
    ]);
    expect(problemsOf({ ...TO_GCS, backupImage: "not an image" })).toEqual([
      'backupImage: "not an image" is not an image reference',
    ]);
  });

  it("refuses a destination the job's pod cannot reach: the stack's folder, dir:; takes gs://, s3:// and the stack's bucket", () => {
    expect(
      problemsOf({
        ...CLUSTER,
        backupImage: IMAGE,
        backupDestination: '["openfga=dir:/srv/backups","keycloak=s3://backups/keycloak"]',
      }),
    ).toEqual([
      "backupDestination: gdpr's destination local: the stack's .local/backups/ folder cannot be reached from the backup CronJob's pod (backupImage is set); give gdpr gs://<bucket>[/prefix] or s3://<bucket>[/prefix], or remove backupImage and run make backup",
      "backupDestination: openfga's destination dir:/srv/backups: a folder of the machine that runs make backup cannot be reached from the backup CronJob's pod (backupImage is set); give openfga gs://<bucket>[/prefix] or s3://<bucket>[/prefix], or remove backupImage and run make backup",
    ]);
    // The stack's bucket: reachable on gcp and on aws.
    const gcp = { ...GCP_PROD, kubernetes: "true", namespace: "databases", backupImage: IMAGE };
    expect(parseStackConfig(gcp).backupImage).toBe(IMAGE);
    const aws = { ...AWS_PROD, kubernetes: "true", namespace: "databases", backupImage: IMAGE };
    expect(parseStackConfig(aws).backupImage).toBe(IMAGE);
    expect(problemsOf({ ...aws, backupDestination: '["gdpr=dir:/srv/backups"]' })).toEqual([
      "backupDestination: gdpr's destination dir:/srv/backups: a folder of the machine that runs make backup cannot be reached from the backup CronJob's pod (backupImage is set); give gdpr gs://<bucket>[/prefix] or s3://<bucket>[/prefix] or bucket, or remove backupImage and run make backup",
    ]);
  });

  it("refuses a schedule a Kubernetes CronJob does not take, and a CronJob name past 52 characters", () => {
    expect(
      problemsOf({
        ...TO_GCS,
        backupImage: IMAGE,
        backupSchedule: '["gdpr=0 1 L * *","openfga=0 1 * * 5#2"]',
      }),
    ).toEqual([
      `backupSchedule: gdpr's "0 1 L * *" uses L, W or #, which a Kubernetes CronJob does not take (backupImage is set)`,
      `backupSchedule: openfga's "0 1 * * 5#2" uses L, W or #, which a Kubernetes CronJob does not take (backupImage is set)`,
    ]);
    // Without the job, the schedule only drives make check's backup age: accepted.
    expect(
      parseStackConfig({ ...TO_GCS, backupSchedule: '["gdpr=0 1 L * *"]' }).services[0].backup.schedule,
    ).toBe("0 1 L * *");
    // A CronJob's name is at most 52 characters: `<service>-test-backup` holds a 40-character service.
    const at = (service: string) => ({
      ...CLUSTER,
      services: JSON.stringify([service]),
      managedSchemaServices: "[]",
      backupImage: IMAGE,
      backupDestination: JSON.stringify([`${service}=gs://backups`]),
    });
    const fits = "s".repeat(40);
    expect(parseStackConfig(at(fits)).backupImage).toBe(IMAGE);
    const long = "s".repeat(41);
    expect(problemsOf(at(long))).toEqual([
      `services: ${long}'s backup CronJob "${long}-test-backup" is 53 characters, more than a CronJob's 52 (backupImage is set): shorten the service name`,
    ]);
  });
});

describe("backupIdentities", () => {
  it("gives a service's CronJob a GKE service account for a gs:// destination", () => {
    const cfg = parseStackConfig({
      ...TO_GCS,
      backupImage: IMAGE,
      backupIdentities: JSON.stringify([`gdpr=${SA}`]),
    });
    expect(cfg.services.find((s) => s.name === "gdpr")?.backupIdentity).toEqual({
      cloud: "gcp",
      principal: SA,
    });
    expect(cfg.services.find((s) => s.name === "openfga")?.backupIdentity).toBeUndefined();
  });

  it("refuses an identity without backupImage, of another cloud than the destination, or that is neither", () => {
    expect(problemsOf({ ...TO_GCS, backupIdentities: JSON.stringify([`gdpr=${SA}`]) })).toEqual([
      "backupIdentities: is set but backupImage is unset: the identities are the backup CronJobs' ServiceAccounts'",
    ]);
    expect(
      problemsOf({
        ...TO_GCS,
        backupImage: IMAGE,
        backupIdentities: JSON.stringify([
          `gdpr=${ROLE}`,
          "openfga=openfga-backup@example.com",
          "nosuch=x",
          `gdpr=${SA}`,
          "keycloak",
        ]),
      }),
    ).toEqual([
      `backupIdentities[0]: "${ROLE}" is an AWS IAM role, but gdpr's backups go to gs://backups/gdpr: the identity must be of the destination's cloud`,
      'backupIdentities[1]: "openfga-backup@example.com" is not a service-account email (name@project.iam.gserviceaccount.com, GKE) or an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>, EKS)',
      'backupIdentities[2]: "nosuch" is not one of the configured services (gdpr, openfga, keycloak)',
      'backupIdentities[4]: "keycloak" is not service=<identity> (e.g. gdpr=gdpr-backup@my-project.iam.gserviceaccount.com)',
    ]);
  });

  it("an EKS role goes with an S3 destination", () => {
    const cfg = parseStackConfig({
      ...CLUSTER,
      backupImage: IMAGE,
      backupDestination: JSON.stringify([
        "gdpr=s3://backups/gdpr",
        "openfga=gs://backups/openfga",
        "keycloak=gs://backups/keycloak",
      ]),
      backupIdentities: JSON.stringify([`gdpr=${ROLE}`]),
    });
    expect(cfg.services[0].backupIdentity).toEqual({ cloud: "aws", principal: ROLE });
  });
});

describe("backupKmsKey", () => {
  it("is fed to the buckets the stack creates: a Cloud KMS key in gcpRegion, a KMS key ARN in awsRegion", () => {
    expect(parseStackConfig(GCP_PROD).backupKmsKey).toBeUndefined();
    expect(parseStackConfig({ ...GCP_PROD, backupKmsKey: GCP_KEY }).backupKmsKey).toBe(GCP_KEY);
    expect(parseStackConfig({ ...AWS_PROD, backupKmsKey: AWS_KEY }).backupKmsKey).toBe(AWS_KEY);
  });

  it("refuses a key of the other cloud, of another region, on target local or with no bucket to encrypt", () => {
    expect(problemsOf({ ...GCP_PROD, backupKmsKey: AWS_KEY })).toEqual([
      `backupKmsKey: "${AWS_KEY}" is not a Cloud KMS key name (projects/<project>/locations/<region>/keyRings/<ring>/cryptoKeys/<key>)`,
    ]);
    expect(problemsOf({ ...AWS_PROD, backupKmsKey: "alias/backups" })).toEqual([
      'backupKmsKey: "alias/backups" is not a KMS key ARN (arn:aws:kms:<region>:<12 digits>:key/<key id>)',
    ]);
    const otherRegion = GCP_KEY.replace("europe-west1", "us-central1");
    expect(problemsOf({ ...GCP_PROD, backupKmsKey: otherRegion })).toEqual([
      `backupKmsKey: "${otherRegion}" is in us-central1, but the buckets are in europe-west1 (gcpRegion): a GCS bucket's Cloud KMS key must be in the bucket's location`,
    ]);
    const awsOther = AWS_KEY.replace("eu-central-1", "us-east-1");
    expect(problemsOf({ ...AWS_PROD, backupKmsKey: awsOther })).toEqual([
      `backupKmsKey: "${awsOther}" is in us-east-1, but the buckets are in eu-central-1 (awsRegion): S3 uses a KMS key of the bucket's region only`,
    ]);
    expect(problemsOf({ environment: "test", backupKmsKey: GCP_KEY })).toEqual([
      `backupKmsKey: "${GCP_KEY}" is set but target is "local": it encrypts the buckets the stack creates on targets gcp and aws`,
    ]);
    const ownBuckets = JSON.stringify(
      ["gdpr", "openfga", "keycloak"].map((s) => `${s}=gs://own-backups/${s}`),
    );
    expect(problemsOf({ ...GCP_PROD, backupDestination: ownBuckets, backupKmsKey: GCP_KEY })).toEqual([
      `backupKmsKey: "${GCP_KEY}" is set but no service's backups go to a bucket the stack creates (backupDestination bucket): remove it, or encrypt your own bucket`,
    ]);
  });
});

describe("pure helpers", () => {
  it("writes destinations as the config does, and says which a pod cannot reach", () => {
    expect(destinationText({ kind: "gcs", bucket: "b", prefix: "p/q" })).toBe("gs://b/p/q");
    expect(destinationText({ kind: "s3", bucket: "b", prefix: "" })).toBe("s3://b");
    expect(destinationText({ kind: "dir", path: "/x" })).toBe("dir:/x");
    expect(jobDestinationProblem({ kind: "gcs", bucket: "b", prefix: "" }, "local")).toBeUndefined();
    expect(jobDestinationProblem({ kind: "bucket" }, "gcp")).toBeUndefined();
    expect(jobDestinationProblem({ kind: "bucket" }, "aws")).toBeUndefined();
    expect(jobDestinationProblem({ kind: "s3", bucket: "b", prefix: "" }, "local")).toBeUndefined();
    expect(jobDestinationProblem({ kind: "bucket" }, "local")).toContain("cannot be reached");
    expect(jobDestinationProblem({ kind: "local" }, "local")).toContain(
      "cannot be reached from the backup CronJob's pod",
    );
  });
});

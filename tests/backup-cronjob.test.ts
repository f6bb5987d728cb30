/**
 * The backup CronJob per database (components/cluster/backup-cronjob.ts):
 * its objects (locked down, `make backup`'s code with the service's policy as
 * flags, the backup role's URI from a Secret, a ServiceAccount of its own
 * whose cloud identity is the config's; a token mounted only for an EKS role),
 * the component under mocks, and its wiring in the program (one per database
 * with backupImage, none without; the stack's bucket as destination on gcp,
 * the identity granted on it). On a real API server, and run for real:
 * tests/e2e/60-cluster.test.ts; the image's bundle: tests/backup-image.test.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { beforeEach, describe, expect, it } from "vitest";
import {
  BACKUP_ENTRY,
  BACKUP_SECRET_KEY,
  backupCronJobObjects,
  EKS_IDENTITY_ANNOTATION,
  GKE_IDENTITY_ANNOTATION,
} from "../components/cluster/backup-cronjob";
import type { BackupCronJobInput } from "../components/cluster/backup-cronjob";
import { backupJobName } from "../components/naming";
import { BACKUP_URL_VARIABLE, parseBackupArgs } from "../scripts/backup";
import { cloudMocks, stackFileConfig } from "./helpers/cloud-mocks";
import { installMocks, ofType, resetRecorded, settle, unwrap } from "./helpers/mocks";
import { resource, runProgram } from "./helpers/run-program";

const SECRET = "kubernetes:core/v1:Secret";
const CRONJOB = "kubernetes:batch/v1:CronJob";
const SA = "kubernetes:core/v1:ServiceAccount";
const IMAGE = "registry.example/platform-databases-backup:17-1";
const GSA = "gdpr-backup@platform-db-prod.iam.gserviceaccount.com";

const INPUT: BackupCronJobInput = {
  name: "gdpr-test-backup",
  namespace: "databases",
  image: IMAGE,
  schedule: "43 1 * * *",
  stack: "test",
  service: "gdpr",
  database: "gdpr_test",
  destination: "gs://backups/test",
  retention: "7y",
  locked: false,
};

/** The objects as the API server receives them (plain JSON: the Input types are for Pulumi). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function plain(input: BackupCronJobInput): any {
  return JSON.parse(JSON.stringify(backupCronJobObjects(input)));
}

describe("backupCronJobObjects", () => {
  const objects = plain(INPUT);
  const cron = objects.cronJob;
  const pod = cron.spec.jobTemplate.spec.template.spec;
  const [container] = pod.containers;

  it("runs `make backup`'s code for one database, its policy as flags, the role's URI from its Secret", () => {
    expect(container.image).toBe(IMAGE);
    expect(container.command).toEqual(["node", BACKUP_ENTRY]);
    expect(container.args).toEqual([
      "backup",
      "test",
      "--from-env",
      "--service",
      "gdpr",
      "--database",
      "gdpr_test",
      "--destination",
      "gs://backups/test",
      "--retention",
      "7y",
    ]);
    expect(BACKUP_SECRET_KEY).toBe(BACKUP_URL_VARIABLE);
    expect(container.env).toContainEqual({
      name: BACKUP_URL_VARIABLE,
      valueFrom: { secretKeyRef: { name: "gdpr-test-backup", key: BACKUP_URL_VARIABLE } },
    });
    // The flags are ones scripts/backup.ts takes, as the policy it gives the backup.
    expect(parseBackupArgs(container.args).fromEnv).toEqual({
      name: "gdpr",
      database: "gdpr_test",
      backup: {
        retention: "7y",
        retentionDays: 2557,
        destination: { kind: "gcs", bucket: "backups", prefix: "test" },
        locked: false,
      },
    });
    expect(
      parseBackupArgs(
        plain({ ...INPUT, locked: true }).cronJob.spec.jobTemplate.spec.template.spec.containers[0].args,
      ).fromEnv?.backup.locked,
    ).toBe(true);
  });

  it("on the service's schedule in UTC, never two at once, bounded history and run time", () => {
    expect(cron.spec).toMatchObject({
      schedule: "43 1 * * *",
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      startingDeadlineSeconds: 3600,
    });
    expect(cron.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 14400 });
  });

  it("is locked down: non-root, read-only root (dump on an emptyDir /tmp), no capabilities, RuntimeDefault, no token", () => {
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.serviceAccountName).toBe("gdpr-test-backup");
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(pod.volumes).toEqual([{ name: "tmp", emptyDir: {} }]);
    expect(container.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
    expect(container.env).toContainEqual({ name: "TMPDIR", value: "/tmp" });
    expect(container.resources.limits.memory).toBeDefined();
    expect(objects.serviceAccount.automountServiceAccountToken).toBe(false);
    expect(objects.serviceAccount.metadata.annotations).toEqual({});
  });

  it("GKE: the ServiceAccount names the Google service account; nothing is mounted (the metadata server answers)", () => {
    const gke = plain({ ...INPUT, identity: { cloud: "gcp", principal: GSA } });
    expect(gke.serviceAccount.metadata).toMatchObject({
      name: "gdpr-test-backup",
      namespace: "databases",
      annotations: { [GKE_IDENTITY_ANNOTATION]: GSA },
    });
    const gkePod = gke.cronJob.spec.jobTemplate.spec.template.spec;
    expect(gkePod.volumes).toEqual([{ name: "tmp", emptyDir: {} }]);
    expect(gkePod.automountServiceAccountToken).toBe(false);
  });

  it("EKS: the role ARN annotation, one projected token for STS (the pod's only token), the stack's region", () => {
    const role = "arn:aws:iam::123456789012:role/gdpr-backup";
    const eks = plain({
      ...INPUT,
      destination: "s3://platform-db-prod-gdpr-backups",
      identity: { cloud: "aws", principal: role },
      awsRegion: "eu-central-1",
    });
    expect(eks.serviceAccount.metadata.annotations).toEqual({ [EKS_IDENTITY_ANNOTATION]: role });
    const eksPod = eks.cronJob.spec.jobTemplate.spec.template.spec;
    expect(eksPod.automountServiceAccountToken).toBe(false);
    expect(eksPod.volumes[1]).toEqual({
      name: "aws-iam-token",
      projected: {
        sources: [
          { serviceAccountToken: { audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token" } },
        ],
      },
    });
    const c = eksPod.containers[0];
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: "AWS_ROLE_ARN", value: role },
        {
          name: "AWS_WEB_IDENTITY_TOKEN_FILE",
          value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        },
        { name: "AWS_REGION", value: "eu-central-1" },
      ]),
    );
    expect(c.args).toContain("s3://platform-db-prod-gdpr-backups");
    // Not on other targets: a GKE job has no AWS variable.
    const gkeEnv = plain(INPUT).cronJob.spec.jobTemplate.spec.template.spec.containers[0].env;
    expect(gkeEnv.map((e: { name: string }) => e.name).filter((n: string) => n.startsWith("AWS_"))).toEqual(
      [],
    );
    expect(c.volumeMounts).toContainEqual({
      name: "aws-iam-token",
      mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
      readOnly: true,
    });
  });
});

describe("BackupCronJob", () => {
  beforeEach(() => resetRecorded());

  it("a Secret holding the backup role's URI (secret), the ServiceAccount and the CronJob, with the cluster's provider", async () => {
    await installMocks();
    const { BackupCronJob } = await import("../components/cluster/backup-cronjob");
    const provider = new k8s.Provider("k8s", {});
    const job = new BackupCronJob(
      "gdpr-backup",
      {
        ...INPUT,
        destination: pulumi.output("gs://platform-gdpr-backups-bucket-abc1234"),
        roleName: "gdpr_test_backup",
        password: pulumi.secret("pw-@:/?#%"),
        endpoint: { host: "db.internal", port: 5432, sslmode: "require" },
      },
      { providers: { kubernetes: provider } },
    );
    expect(await unwrap(job.cronJobName)).toBe("gdpr-test-backup");
    await settle();
    const [secret] = ofType(SECRET);
    expect(secret.inputs.metadata).toMatchObject({ name: "gdpr-test-backup", namespace: "databases" });
    const data = secret.inputs.stringData as Record<string, unknown>;
    expect(data[pulumi.runtime.specialSigKey]).toBe(pulumi.runtime.specialSecretSig);
    expect(data.value).toEqual({
      [BACKUP_SECRET_KEY]:
        "postgresql://gdpr_test_backup:pw-%40%3A%2F%3F%23%25@db.internal:5432/gdpr_test?sslmode=require",
    });
    const [sa] = ofType(SA);
    expect(sa.inputs.metadata).toMatchObject({ name: "gdpr-test-backup", namespace: "databases" });
    const [cron] = ofType(CRONJOB);
    expect(JSON.stringify(cron.inputs)).toContain(
      '"--destination","gs://platform-gdpr-backups-bucket-abc1234"',
    );
    // No password anywhere but the Secret's data.
    expect(JSON.stringify([cron.inputs, sa.inputs])).not.toContain("pw-");
    for (const r of [secret, sa, cron]) expect(r.provider).toMatch(/::k8s::k8s-id$/);
  });
});

describe("in the program", () => {
  const cluster = { environment: "test", port: "55433", kubernetes: "true", namespace: "databases" };
  const toGcs = JSON.stringify(["gdpr", "openfga", "keycloak"].map((s) => `${s}=gs://backups/${s}`));

  it("with backupImage: one CronJob, Secret and ServiceAccount per database, on its own schedule", async () => {
    const run = await runProgram(
      {
        ...cluster,
        backupImage: IMAGE,
        backupDestination: toGcs,
        backupSchedule: JSON.stringify(["gdpr=0 */6 * * *"]),
      },
      "test",
    );
    const names = ["gdpr", "openfga", "keycloak"].map((s) => backupJobName(s, "test"));
    const crons = run.resources.filter((r) => r.type === CRONJOB && r.name.endsWith("-backup-cronjob"));
    expect(crons.map((c) => (c.inputs.metadata as { name: string }).name).sort()).toEqual([...names].sort());
    const schedule = (service: string) =>
      (
        resource(run, CRONJOB, `platform-cluster-${service}-backup-cronjob`).inputs.spec as {
          schedule: string;
        }
      ).schedule;
    expect(schedule("gdpr")).toBe("0 */6 * * *");
    expect(schedule("openfga")).toBe("43 1 * * *");
    const gdpr = JSON.stringify(resource(run, CRONJOB, "platform-cluster-gdpr-backup-cronjob").inputs);
    expect(gdpr).toContain('"--destination","gs://backups/gdpr","--retention","7y"');
    expect(gdpr).toContain(`"image":"${IMAGE}"`);
    const secret = run.resources.find(
      (r) => r.type === SECRET && (r.inputs.metadata as { name: string }).name === "gdpr-test-backup",
    );
    expect((secret?.inputs.stringData as { value: Record<string, string> }).value[BACKUP_SECRET_KEY]).toMatch(
      /^postgresql:\/\/gdpr_test_backup:[^@]+@127\.0\.0\.1:55433\/gdpr_test\?sslmode=disable$/,
    );
    expect(
      run.resources
        .filter((r) => r.type === SA)
        .map((r) => (r.inputs.metadata as { name: string }).name)
        .sort(),
    ).toEqual([...names].sort());
  });

  it("without backupImage: no backup CronJob, Secret or ServiceAccount", async () => {
    const run = await runProgram({ ...cluster, backupDestination: toGcs }, "test");
    expect(run.resources.filter((r) => r.name.includes("-backup-cronjob") || r.type === SA)).toEqual([]);
  });

  it("prod on gcp: each job writes to the bucket the stack creates, whose writer is its service account", async () => {
    const run = await runProgram(
      stackFileConfig("prod", {
        target: "gcp",
        kubernetes: "true",
        namespace: "databases",
        backupImage: IMAGE,
        backupIdentities: JSON.stringify([`gdpr=${GSA}`]),
      }),
      "prod",
      cloudMocks(),
    );
    const urls = await unwrap(run.program.backupBuckets);
    const gdpr = resource(run, CRONJOB, "platform-cluster-gdpr-backup-cronjob");
    const args = (
      gdpr.inputs as {
        spec: { jobTemplate: { spec: { template: { spec: { containers: { args: string[] }[] } } } } };
      }
    ).spec.jobTemplate.spec.template.spec.containers[0].args;
    expect(args.slice(args.indexOf("--destination") + 1, args.indexOf("--destination") + 2)).toEqual([
      urls.gdpr,
    ]);
    // gdpr's backups are locked in prod: the job uploads them locked.
    expect(args).toContain("--locked");
    expect(args[1]).toBe("prod");
    const sa = resource(run, SA, "platform-cluster-gdpr-backup-serviceaccount");
    expect((sa.inputs.metadata as { annotations: Record<string, string> }).annotations).toEqual({
      [GKE_IDENTITY_ANNOTATION]: GSA,
    });
    const members = run.resources.filter((r) => r.type === "gcp:storage/bucketIAMMember:BucketIAMMember");
    expect(members.map((m) => [m.name, m.inputs.role, m.inputs.member]).sort()).toEqual([
      ["platform-gdpr-backups-reader", "roles/storage.objectViewer", `serviceAccount:${GSA}`],
      ["platform-gdpr-backups-writer", "roles/storage.objectCreator", `serviceAccount:${GSA}`],
    ]);
    // openfga has no identity: no annotation, no grant (access is granted outside the stack).
    const openfga = resource(run, SA, "platform-cluster-openfga-backup-serviceaccount");
    expect((openfga.inputs.metadata as { annotations: Record<string, string> }).annotations).toEqual({});
  }, 120_000);
});

/**
 * The backup CronJobs on a real API server, and one run for real: a scratch
 * stack of the test stack's config (tests/helpers/program-stack.ts: its own
 * PostgreSQL on a free port) with `kubernetes: true`, `backupImage`, gdpr's
 * and openfga's backups sent to a GCS bucket (fake-gcs-server) and
 * keycloak's to an S3 bucket (moto's server) as an EKS IAM role, against its
 * own control plane (scripts/local-cluster.ts; no kubelet, so no pod runs).
 *
 * After `up`: one CronJob, Secret and ServiceAccount per database, accepted
 * server-side, on each service's schedule from config, locked down; each
 * Secret's URI connects as the database's backup role; the API server refuses
 * a schedule config refuses. Then each CronJob, read back from the API
 * server with its environment resolved from its Secret, is run as the kubelet
 * would run it (the image's bundle, the pinned pg_dump): a backup appears in
 * the bucket whose manifest's row counts are the database's; keycloak's job
 * reaches S3 with no key, through STS and the ServiceAccount token the API
 * server issues for audience sts.amazonaws.com. A second `up`
 * changes nothing, `refresh` finds no drift, and `destroy` leaves the
 * namespace as it was.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKUP_SECRET_KEY, EKS_IDENTITY_ANNOTATION } from "../../components/cluster/backup-cronjob";
import { backupJobName } from "../../components/naming";
import { LocalCluster, start as startCluster, stop as stopCluster } from "../../scripts/local-cluster";
import type { Manifest } from "../../scripts/backup/manifest";
import { GcsStore } from "../../scripts/backup/gcs-store";
import { pgClientBin } from "../helpers/backup-cli";
import { runBackupCronJob } from "../helpers/backup-job";
import { FakeGcs, startFakeGcs } from "../helpers/fake-gcs";
import { S3Emulator, startS3Emulator } from "../helpers/s3-emulator";
import { S3Store } from "../../scripts/backup/s3-store";
import { bundleFromDockerfile } from "../helpers/image-bundle";
import { CronJobDoc, Kube, KubeObject } from "../helpers/kube";
import { ProgramStack, sql, startProgramStack } from "../helpers/program-stack";

const NAMESPACE = "databases";
const ENV = "test";
/** Never pulled here (no kubelet), but each CronJob must name it. */
const BACKUP_IMAGE = "example/platform-databases-backup:e2e";
const BUCKET = "e2e-cluster-backups";
/** keycloak's backups: an S3 bucket, written as this IAM role (EKS IAM roles for service accounts). */
const S3_BUCKET = "e2e-cluster-backups-s3";
const KEYCLOAK_ROLE = "arn:aws:iam::123456789012:role/keycloak-backup";
const services = ["gdpr", "openfga", "keycloak"];
const jobs = services.map((s) => backupJobName(s, ENV));

let clusterDir: string;
let cluster: LocalCluster;
let kube: Kube;
let gcs: FakeGcs;
let s3: S3Emulator;
let stack: ProgramStack;
let namespaceBefore: Awaited<ReturnType<Kube["contents"]>>;

/** A client to `database` as the user and password of a connection URI. */
function clientOf(uri: string) {
  const u = new URL(uri);
  return stack.server.client(
    u.pathname.slice(1),
    decodeURIComponent(u.username),
    decodeURIComponent(u.password),
  );
}

beforeAll(async () => {
  clusterDir = mkdtempSync(join(tmpdir(), "local-cluster-"));
  cluster = await startCluster(clusterDir);
  kube = new Kube(cluster);
  await kube.createNamespace(NAMESPACE);
  namespaceBefore = await kube.contents(NAMESPACE);
  [gcs, s3] = await Promise.all([startFakeGcs(), startS3Emulator()]);
  await gcs.createBucket(BUCKET);
  await s3.createBucket(S3_BUCKET, { mode: "GOVERNANCE", days: 30 });
  stack = await startProgramStack({
    config: {
      kubernetes: true,
      namespace: NAMESPACE,
      kubeconfig: cluster.kubeconfig,
      backupImage: BACKUP_IMAGE,
      backupDestination: [
        `gdpr=gs://${BUCKET}/cluster`,
        `openfga=gs://${BUCKET}/cluster`,
        `keycloak=s3://${S3_BUCKET}/cluster`,
      ],
      backupIdentities: [`keycloak=${KEYCLOAK_ROLE}`],
      backupSchedule: ["gdpr=0 */6 * * *"],
    },
  });
});

afterAll(async () => {
  stack?.stop();
  gcs?.stop();
  s3?.stop();
  if (clusterDir) {
    await stopCluster(clusterDir);
    rmSync(clusterDir, { recursive: true, force: true });
  }
});

/**
 * What EKS gives keycloak's backup pod beside its manifest: the projected
 * token, here requested from the API server for the job's ServiceAccount
 * with the volume's audience and written where the job's
 * AWS_WEB_IDENTITY_TOKEN_FILE points in the pod (a temp file here), and S3
 * and STS (the emulator). No key: without the token the job cannot write.
 */
async function eksPodEnvironment(name: string, dir: string): Promise<Record<string, string>> {
  const cron = await kube.get<CronJobDoc>("CronJob", NAMESPACE, name);
  const pod = cron.spec.jobTemplate.spec.template.spec as unknown as {
    volumes: { name: string; projected?: { sources: { serviceAccountToken?: { audience: string } }[] } }[];
  };
  const audience = pod.volumes.flatMap((v) => v.projected?.sources ?? [])[0]?.serviceAccountToken?.audience;
  expect(audience).toBe("sts.amazonaws.com");
  const sa = await kube.get<KubeObject>("ServiceAccount", NAMESPACE, name);
  expect(sa.metadata.annotations?.[EKS_IDENTITY_ANNOTATION]).toBe(KEYCLOAK_ROLE);
  const res = await kube.try("POST", `${kube.path("ServiceAccount", NAMESPACE, name)}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { audiences: [audience], expirationSeconds: 3600 },
  });
  expect(res.status, res.body).toBe(201);
  const token = (JSON.parse(res.body) as { status: { token: string } }).status.token;
  const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()) as {
    sub: string;
    aud: string[];
  };
  expect(claims).toMatchObject({
    sub: `system:serviceaccount:${NAMESPACE}:${name}`,
    aud: ["sts.amazonaws.com"],
  });
  const file = join(dir, "eks-token");
  writeFileSync(file, token);
  return {
    AWS_WEB_IDENTITY_TOKEN_FILE: file,
    AWS_ENDPOINT_URL: s3.endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

describe("the backup CronJobs on a real API server", () => {
  it("one CronJob, Secret and ServiceAccount per database; each Secret's URI connects as the backup role", async () => {
    expect(jobs).toEqual(["gdpr-test-backup", "openfga-test-backup", "keycloak-test-backup"]);
    const now = await kube.contents(NAMESPACE);
    expect(now.CronJob).toEqual([...jobs, "gdpr-test-retention"].sort());
    expect(now.ServiceAccount).toEqual([...namespaceBefore.ServiceAccount, ...jobs].sort());
    for (const [i, name] of jobs.entries()) {
      const data = await kube.secretData(NAMESPACE, name);
      expect(Object.keys(data)).toEqual([BACKUP_SECRET_KEY]);
      const c = await clientOf(data[BACKUP_SECRET_KEY]);
      try {
        const { rows } = await c.query("SELECT current_user AS u, current_database() AS d");
        expect(`${rows[0].u}@${rows[0].d}`).toBe(`${services[i]}_test_backup@${services[i]}_test`);
      } finally {
        await c.end();
      }
      // The password is in the Secret's data only: not in the CronJob or its metadata.
      const password = decodeURIComponent(new URL(data[BACKUP_SECRET_KEY]).password);
      const cron = await kube.get("CronJob", NAMESPACE, name);
      const secret = await kube.get("Secret", NAMESPACE, name);
      expect(JSON.stringify([cron, secret.metadata])).not.toContain(password);
    }
  });

  it("each on its service's schedule from config, locked down, with its own ServiceAccount and no token", async () => {
    const schedules = Object.fromEntries(stack.config.services.map((s) => [s.name, s.backup.schedule]));
    expect(schedules).toEqual({ gdpr: "0 */6 * * *", openfga: "43 1 * * *", keycloak: "43 1 * * *" });
    for (const [i, name] of jobs.entries()) {
      const cron = await kube.get<CronJobDoc>("CronJob", NAMESPACE, name);
      expect(cron.spec).toMatchObject({
        schedule: schedules[services[i]],
        timeZone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
      });
      const pod = cron.spec.jobTemplate.spec.template.spec;
      expect(pod.serviceAccountName).toBe(name);
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      const [container] = pod.containers;
      expect(container.image).toBe(BACKUP_IMAGE);
      expect(container.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
      const sa = await kube.get<KubeObject & { automountServiceAccountToken?: boolean }>(
        "ServiceAccount",
        NAMESPACE,
        name,
      );
      expect(sa.automountServiceAccountToken).toBe(false);
    }
  });

  it("the API server validates them: a schedule config refuses for a backup CronJob is refused there too", async () => {
    const gdpr = await kube.get<CronJobDoc>("CronJob", NAMESPACE, jobs[0]);
    const dryRun = (schedule: string) =>
      kube.try("POST", `${kube.path("CronJob", NAMESPACE)}?dryRun=All`, {
        ...gdpr,
        metadata: { name: "dry-run-backup" },
        spec: { ...gdpr.spec, schedule },
      });
    const accepted = await dryRun("15 2 * * *");
    expect(accepted.status, accepted.body).toBe(201);
    // L ("last day of the month"): config refuses it with backupImage (tests/backup-job-config.test.ts).
    const refused = await dryRun("0 1 L * *");
    expect(refused.status, refused.body).toBe(422);
  });

  it("each CronJob's command, run as the kubelet would, backs up its database: the manifest's row counts are the database's", async () => {
    const out = stack.outputs;
    await sql(
      clientOf(out.connectionUris.openfga),
      "CREATE TABLE tuple (id bigserial PRIMARY KEY, object text)",
      "INSERT INTO tuple (object) VALUES ('doc:1'), ('doc:2')",
    );
    await sql(
      clientOf(out.connectionUris.gdpr),
      "INSERT INTO user_profiles (user_id, username) VALUES ('u1', 'ada')",
    );
    const image = bundleFromDockerfile("deployments/backup/Dockerfile");
    const tmp = mkdtempSync(join(tmpdir(), "backup-job-tmp-"));
    const stores = {
      gdpr: new GcsStore(gcs.endpoint, BUCKET, "cluster"),
      openfga: new GcsStore(gcs.endpoint, BUCKET, "cluster"),
      keycloak: new S3Store(S3_BUCKET, "cluster", s3.env),
    };
    try {
      for (const [i, name] of jobs.entries()) {
        const service = services[i] as keyof typeof stores;
        const store = stores[service];
        const database = `${service}_test`;
        expect(await store.ids(database)).toEqual([]);
        // What the image and the cloud give the pod: its pg_dump, /tmp, the bucket (here the emulators).
        const run = await runBackupCronJob(kube, NAMESPACE, name, image, {
          PG_CLIENT_BIN: pgClientBin(),
          TMPDIR: tmp,
          STORAGE_EMULATOR_HOST: gcs.endpoint,
          ...(service === "keycloak" ? await eksPodEnvironment(name, tmp) : {}),
        });
        expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
        expect(
          run.argv.slice(run.argv.indexOf("--destination"), run.argv.indexOf("--destination") + 2),
        ).toEqual(["--destination", store.where]);
        const [id] = await store.ids(database);
        expect(run.stdout).toMatch(new RegExp(`^${database}: backup ${id} \\(\\d+ tables, \\d+ rows, `));
        const manifest = JSON.parse(await store.read(`${database}/${id}/manifest.json`)) as Manifest;
        expect(manifest).toMatchObject({ stack: stack.name, service, database });
        const su = await stack.superuser(database);
        try {
          for (const t of manifest.tables) {
            const { rows } = await su.query(`SELECT count(*)::int AS n FROM "${t.schema}"."${t.name}"`);
            expect(t.rows, `${database} ${t.schema}.${t.name}`).toBe(rows[0].n);
          }
        } finally {
          await su.end();
        }
      }
      const rows = async (service: keyof typeof stores) => {
        const database = `${service}_test`;
        const [id] = await stores[service].ids(database);
        const m = JSON.parse(await stores[service].read(`${database}/${id}/manifest.json`)) as Manifest;
        return Object.fromEntries(m.tables.map((t) => [t.name, t.rows]));
      };
      expect(await rows("openfga")).toEqual({ tuple: 2 });
      expect((await rows("gdpr")).user_profiles).toBe(1);
      expect(await rows("keycloak")).toEqual({});
    } finally {
      rmSync(tmp, { recursive: true, force: true });
      rmSync(image.dir, { recursive: true, force: true });
    }
  });

  it("a second `up` changes nothing and `refresh` finds no drift", async () => {
    for (const args of [
      ["up", "--yes", "--skip-preview", "--expect-no-changes"],
      ["refresh", "--yes", "--skip-preview", "--expect-no-changes"],
    ]) {
      const res = await stack.exec("scripts/pulumi.sh", [stack.name, ...args]);
      expect(res.code, res.output).toBe(0);
    }
  });

  it("`destroy` removes the CronJobs, Secrets and ServiceAccounts: the namespace is as it was", async () => {
    const destroy = await stack.exec("scripts/pulumi.sh", [stack.name, "destroy", "--yes", "--skip-preview"]);
    expect(destroy.code, destroy.output).toBe(0);
    expect(await kube.contents(NAMESPACE)).toEqual(namespaceBefore);
  });
});

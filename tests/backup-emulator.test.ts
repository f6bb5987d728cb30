/**
 * Backups to object storage, for real: the three databases of a server the
 * program provisioned (tests/helpers/program-stack.ts) are backed up with
 * `backupDestination: gs://…` to the GCS emulator (tests/helpers/fake-gcs.ts,
 * fake-gcs-server built from its Go module), then with `s3://…` to the S3
 * emulator (tests/helpers/s3-emulator.ts, moto's server), each object kept
 * for its service's retention; then each is restored from the emulator into
 * a fresh database and verified against its manifest. The S3 part also runs
 * the backup CronJob's command (`backup --from-env`) with a locked policy and
 * with the job's web identity instead of a key.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DeleteObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GcsStore } from "../scripts/backup/gcs-store";
import type { Manifest } from "../scripts/backup/manifest";
import { backupCli, clientAs, pgClientBin } from "./helpers/backup-cli";
import { FakeGcs, startFakeGcs } from "./helpers/fake-gcs";
import { S3Emulator, startS3Emulator } from "./helpers/s3-emulator";
import { S3Store, s3ClientConfig } from "../scripts/backup/s3-store";
import { restoreService } from "../scripts/backup/restore";
import { serverOf, withStackBuckets } from "../scripts/backup/stack-buckets";
import type { StackConfig } from "../components/config/stack-config";
import { MIGRATIONS, ProgramStack, sql, startProgramStack } from "./helpers/program-stack";

const BUCKET = "platform-backups-test";
let gcs: FakeGcs;
let s3: S3Emulator;
let stack: ProgramStack;
let pgClientBinDir: string;

function cli(...args: string[]) {
  return backupCli(stack, { PG_CLIENT_BIN: pgClientBinDir, STORAGE_EMULATOR_HOST: gcs.endpoint }, args);
}

beforeAll(async () => {
  pgClientBinDir = pgClientBin();
  [gcs, s3] = await Promise.all([startFakeGcs(), startS3Emulator()]);
  await gcs.createBucket(BUCKET);
  stack = await startProgramStack();
  // As a user would: point every service's backups at the bucket (no resource changes for a local target).
  await stack.up({
    config: {
      backupDestination: ["gdpr", "openfga", "keycloak"].map((s) => `${s}=gs://${BUCKET}/${stack.name}`),
    },
  });
  const uris = stack.outputs.connectionUris;
  const asUri = (uri: string) => clientAs(stack, uri);
  await sql(asUri(uris.gdpr), "INSERT INTO user_profiles (user_id, username) VALUES ('u1', 'ada')");
  await sql(
    asUri(uris.openfga),
    "CREATE TABLE tuple (id bigserial PRIMARY KEY, object text)",
    "INSERT INTO tuple (object) VALUES ('doc:1'), ('doc:2'), ('doc:3')",
  );
  await sql(
    asUri(uris.keycloak),
    "CREATE TABLE realm (id text PRIMARY KEY)",
    "INSERT INTO realm VALUES ('master')",
  );
}, 600_000);

afterAll(() => {
  stack?.stop();
  gcs?.stop();
  s3?.stop();
});

describe("backups to the object-storage emulator", () => {
  it("uploads each database's dump and manifest, each object kept for its service's retention", async () => {
    const res = cli("backup", stack.name);
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    expect(res.stdout).toContain(`in gs://${BUCKET}/${stack.name}; kept 7y until `);
    const store = new GcsStore(gcs.endpoint, BUCKET, stack.name);
    const expected: Record<string, number> = { gdpr_test: 2557, openfga_test: 30, keycloak_test: 30 };
    for (const [database, days] of Object.entries(expected)) {
      const [id] = await store.ids(database);
      const manifest = JSON.parse(await store.read(`${database}/${id}/manifest.json`)) as Manifest;
      expect(manifest.retentionDays).toBe(days);
      for (const file of ["manifest.json", manifest.dump.file]) {
        const meta = await store.stat(`${database}/${id}/${file}`);
        const retention = meta.retention as { mode: string; retainUntilTime: string };
        // Not locked outside prod; kept until the backup's time plus the policy's days.
        expect(retention.mode, `${database} ${file}`).toBe("Unlocked");
        const until = new Date(retention.retainUntilTime).getTime();
        expect(until - new Date(manifest.createdAt).getTime()).toBe(days * 86_400_000);
      }
    }
  });

  it("restores each database from the emulator into a fresh database, verified against its manifest", () => {
    const lines = ["gdpr", "openfga", "keycloak"].map((service) => {
      const res = cli("restore", stack.name, "--service", service, "--into", `${service}_from_gcs`);
      expect(res.stderr, service).toBe("");
      expect(res.status, service).toBe(0);
      return res.stdout;
    });
    expect(lines[0]).toMatch(
      new RegExp(
        `^gdpr_test: backup \\S+ restored into gdpr_from_gcs; verified: 7 tables, ${1 + MIGRATIONS.length} rows,`,
      ),
    );
    expect(lines[1]).toMatch(
      /^openfga_test: backup \S+ restored into openfga_from_gcs; verified: 1 tables, 3 rows,/,
    );
    expect(lines[2]).toMatch(
      /^keycloak_test: backup \S+ restored into keycloak_from_gcs; verified: 1 tables, 1 rows,/,
    );
  });

  it("a locked policy uploads objects in mode Locked", async () => {
    const store = new GcsStore(gcs.endpoint, BUCKET, "locked");
    const until = new Date("2033-12-01T00:00:00Z");
    await store.put("gdpr/20261201T000000Z/manifest.json", resolve(__dirname, "..", "package.json"), {
      retainUntil: until,
      locked: true,
    });
    const meta = await store.stat("gdpr/20261201T000000Z/manifest.json");
    const retention = meta.retention as { mode: string; retainUntilTime: string };
    expect(retention.mode).toBe("Locked");
    expect(new Date(retention.retainUntilTime).getTime()).toBe(until.getTime());
    expect(await store.ids("gdpr")).toEqual(["20261201T000000Z"]);
  });
});

/** Each service's retention in days, as the test stack's defaults give it (7y and 30d). */
const DAYS: Record<string, number> = { gdpr: 2557, openfga: 30, keycloak: 30 };
const DATABASES = ["gdpr", "openfga", "keycloak"].map((s) => [s, `${s}_test`] as const);
const s3Bucket = (service: string) => `backups-${service}-test`;
const DAY = 86_400_000;

describe("backups to the S3 emulator", () => {
  beforeAll(async () => {
    // One bucket per service with Object Lock and its policy's default retention, as the stack creates them on aws.
    for (const [service] of DATABASES) {
      await s3.createBucket(s3Bucket(service), { mode: "GOVERNANCE", days: DAYS[service] });
    }
    await s3.createBucket("backups-locked", { mode: "COMPLIANCE", days: 1 });
    await stack.up({
      config: { backupDestination: DATABASES.map(([s]) => `${s}=s3://${s3Bucket(s)}/${stack.name}`) },
    });
  }, 300_000);

  function s3Cli(env: Record<string, string>, ...args: string[]) {
    return backupCli(stack, { PG_CLIENT_BIN: pgClientBinDir, ...env }, args);
  }

  it("uploads each database's dump and manifest, kept by the bucket's default retention for its service's days", async () => {
    const res = s3Cli(s3.env, "backup", stack.name);
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    for (const [service, database] of DATABASES) {
      expect(res.stdout).toContain(`${database}: backup `);
      expect(res.stdout).toContain(`in s3://${s3Bucket(service)}/${stack.name}; kept `);
      const store = new S3Store(s3Bucket(service), stack.name, s3.env);
      const [id] = await store.ids(database);
      const manifest = JSON.parse(await store.read(`${database}/${id}/manifest.json`)) as Manifest;
      expect(manifest.retentionDays).toBe(DAYS[service]);
      for (const file of ["manifest.json", manifest.dump.file]) {
        const lock = await store.lock(`${database}/${id}/${file}`);
        // Unlocked outside prod: no per-object lock is sent, the bucket's default applies.
        expect(lock.mode, `${database} ${file}`).toBe("GOVERNANCE");
        // From the upload, a moment after the backup's time (S3 dates are to the second).
        const kept = (lock.retainUntil as Date).getTime() - new Date(manifest.createdAt).getTime();
        expect(kept).toBeGreaterThanOrEqual(DAYS[service] * DAY - 1000);
        expect(kept).toBeLessThan(DAYS[service] * DAY + 600_000);
      }
    }
  });

  it("restores each database from S3 into a fresh database, verified against its manifest", () => {
    for (const [service, database] of DATABASES) {
      const res = s3Cli(s3.env, "restore", stack.name, "--service", service, "--into", `${service}_from_s3`);
      expect(res.stderr, service).toBe("");
      expect(res.status, service).toBe(0);
      expect(res.stdout).toMatch(
        new RegExp(
          `^${database}: backup \\S+ restored into ${service}_from_s3; verified: \\d+ tables, \\d+ rows,`,
        ),
      );
    }
  });

  it("a user erased after the backup stays erased in the copy restored from S3; the erasure log's copy is in the bucket", async () => {
    const app = await clientAs(stack, stack.outputs.connectionUris.gdpr);
    try {
      await app.query("DELETE FROM user_profiles WHERE user_id = 'u1'");
    } finally {
      await app.end();
    }
    const copied = s3Cli(s3.env, "erasures", stack.name, "--service", "gdpr");
    expect(copied.stderr).toBe("");
    expect(copied.stdout).toContain(
      `gdpr_test: erasure log (1 entries) copied to s3://${s3Bucket("gdpr")}/${stack.name}/gdpr_test/erasures/`,
    );
    const store = new S3Store(s3Bucket("gdpr"), stack.name, s3.env);
    expect(await store.list("gdpr_test/erasures/")).toHaveLength(1);
    const res = s3Cli(s3.env, "restore", stack.name, "--service", "gdpr", "--into", "gdpr_erased_s3");
    expect(res.status).toBe(0);
    expect(res.stdout).toContain(
      "gdpr_erased_s3: re-applied 1 GDPR erasure recorded after the backup (1 profile deleted)",
    );
    const su = await stack.superuser("gdpr_erased_s3");
    try {
      expect((await su.query("SELECT 1 FROM user_profiles WHERE user_id = 'u1'")).rowCount).toBe(0);
    } finally {
      await su.end();
    }
  });

  it("a cloud stack restores from the bucket it created, on the instance its outputs name, as the admin with PGPASSWORD", async () => {
    // The local server stands in for the instance; the destination is the stack's own bucket.
    const cloud = { ...stack.config, target: "aws" } as StackConfig;
    const openfga = stack.config.services.find((x) => x.name === "openfga")!;
    const outputs = {
      ...stack.outputs,
      backupBuckets: { openfga: `s3://${s3Bucket("openfga")}/${stack.name}` },
    };
    const [svc] = withStackBuckets(
      [{ ...openfga, backup: { ...openfga.backup, destination: { kind: "bucket" } } }],
      outputs,
    );
    expect(svc.backup.destination).toEqual({ kind: "s3", bucket: s3Bucket("openfga"), prefix: stack.name });
    const server = serverOf(outputs, "openfga")!;
    expect(server).toEqual({ host: "127.0.0.1", port: stack.server.port, sslmode: "disable" });
    const env: NodeJS.ProcessEnv = { ...process.env, ...s3.env, PG_CLIENT_BIN: pgClientBinDir };
    delete env.PGPASSWORD;
    const opts = { root: stack.root, server, into: "openfga_cloud_restore" };
    await expect(restoreService(stack.name, cloud, svc, { ...opts, env })).rejects.toThrow(
      `stack "${stack.name}" has target "aws": make restore connects to 127.0.0.1 as ${stack.adminUser}; give that user's password in PGPASSWORD (never on the command line)`,
    );
    const r = await restoreService(stack.name, cloud, svc, {
      ...opts,
      env: { ...env, PGPASSWORD: stack.adminPassword },
    });
    expect(r.problems).toEqual([]);
    expect(r.database).toBe("openfga_cloud_restore");
  });

  it("the backup job's command with a locked policy uploads every object in COMPLIANCE mode, and S3 refuses to delete it", async () => {
    const uri = stack.outputs.backupUris.gdpr as string;
    const job = ["backup", stack.name, "--from-env", "--service", "gdpr", "--database", "gdpr_test"];
    const res = s3Cli(
      { ...s3.env, DATABASE_BACKUP_URL: uri },
      ...job,
      "--destination",
      "s3://backups-locked/prod",
      "--retention",
      "2d",
      "--locked",
    );
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    const store = new S3Store("backups-locked", "prod", s3.env);
    const [id] = await store.ids("gdpr_test");
    const manifest = JSON.parse(await store.read(`gdpr_test/${id}/manifest.json`)) as Manifest;
    const key = `prod/gdpr_test/${id}/${manifest.dump.file}`;
    const lock = await store.lock(`gdpr_test/${id}/${manifest.dump.file}`);
    // The policy's two days from the backup's time, not the bucket's default of one.
    expect(lock.mode).toBe("COMPLIANCE");
    expect((lock.retainUntil as Date).getTime()).toBe(new Date(manifest.createdAt).getTime() + 2 * DAY);
    const client = new S3Client(s3ClientConfig(s3.env));
    const head = await client.send(new HeadObjectCommand({ Bucket: "backups-locked", Key: key }));
    await expect(
      client.send(new DeleteObjectCommand({ Bucket: "backups-locked", Key: key, VersionId: head.VersionId })),
    ).rejects.toThrow(/Access Denied/);
  });

  it("the backup job writes with its ServiceAccount's web identity and no key; without credentials it says where they come from", async () => {
    const uri = stack.outputs.backupUris.keycloak as string;
    const tokenDir = mkdtempSync(join(tmpdir(), "irsa-"));
    writeFileSync(
      join(tokenDir, "token"),
      "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YmFja3VwIn0.c2ln",
    );
    const noKeys = {
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_REGION: s3.env.AWS_REGION,
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_CONFIG_FILE: join(tokenDir, "none"),
      AWS_SHARED_CREDENTIALS_FILE: join(tokenDir, "none"),
      DATABASE_BACKUP_URL: uri,
    };
    const job = ["backup", stack.name, "--from-env", "--service", "keycloak", "--database", "keycloak_test"];
    const dest = ["--destination", `s3://${s3Bucket("keycloak")}/irsa`, "--retention", "30d"];
    const withRole = s3Cli(
      {
        ...noKeys,
        AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/keycloak-backup",
        AWS_WEB_IDENTITY_TOKEN_FILE: join(tokenDir, "token"),
      },
      ...job,
      ...dest,
    );
    expect(withRole.stderr).toBe("");
    expect(withRole.status).toBe(0);
    expect(await new S3Store(s3Bucket("keycloak"), "irsa", s3.env).ids("keycloak_test")).toHaveLength(1);
    const without = s3Cli(noKeys, ...job, ...dest);
    expect(without.status).toBe(1);
    expect(without.stderr).toContain(`s3://${s3Bucket("keycloak")}/irsa: `);
    expect(without.stderr).toContain(
      "no AWS credentials: the backup CronJob gets them from its ServiceAccount's IAM role",
    );
  });
});

/**
 * The backup job's image without Docker (deployments/backup/Dockerfile): its
 * own esbuild command bundles scripts/backup.ts; the bundle, run from a
 * directory laid out like the image's /app with the pinned pg_dump as
 * PG_CLIENT_BIN, backs up a real PostgreSQL database as a read-only role to
 * the object-storage emulator with the CronJob's flags, and the manifest's
 * row counts are the database's. The CronJob's objects:
 * tests/backup-cronjob.test.ts; on a real API server: tests/e2e/60-cluster.test.ts.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKUP_ENTRY } from "../components/cluster/backup-cronjob";
import { BACKUP_URL_VARIABLE } from "../scripts/backup";
import type { Manifest } from "../scripts/backup/manifest";
import { GcsStore } from "../scripts/backup/gcs-store";
import { pgClientBin } from "./helpers/backup-cli";
import { FakeGcs, startFakeGcs } from "./helpers/fake-gcs";
import { bundleFromDockerfile, ImageBundle } from "./helpers/image-bundle";
import { startTestServer, TestServer } from "./helpers/pg-server";

const BUCKET = "image-backups";
const ROLE_PASSWORD = "bk-@:/?#%pw";
let image: ImageBundle;
let server: TestServer;
let gcs: FakeGcs;
let tmp: string;

beforeAll(async () => {
  image = bundleFromDockerfile("deployments/backup/Dockerfile");
  server = await startTestServer();
  gcs = await startFakeGcs();
  await gcs.createBucket(BUCKET);
  tmp = mkdtempSync(join(tmpdir(), "backup-image-tmp-"));
  const su = await server.client();
  await su.query("CREATE DATABASE gdpr_test");
  await su.query(`CREATE ROLE gdpr_test_backup LOGIN PASSWORD '${ROLE_PASSWORD.replace(/'/g, "''")}'`);
  await su.end();
  const db = await server.client("gdpr_test");
  await db.query("CREATE TABLE user_profiles (user_id text PRIMARY KEY, username text)");
  await db.query("INSERT INTO user_profiles VALUES ('u1', 'ada'), ('u2', 'bob'), ('u3', 'cy')");
  await db.query("CREATE TABLE audit_logs (id bigserial PRIMARY KEY, note text)");
  await db.query("GRANT USAGE ON SCHEMA public TO gdpr_test_backup");
  await db.query("GRANT SELECT ON ALL TABLES IN SCHEMA public TO gdpr_test_backup");
  await db.query("GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO gdpr_test_backup");
  await db.end();
}, 600_000);

afterAll(() => {
  server?.stop();
  gcs?.stop();
  for (const d of [image?.dir, tmp]) if (d) rmSync(d, { recursive: true, force: true });
});

/** The bundle as the CronJob's container runs it, from `/`, with only what the pod has. */
function runBundle(args: string[], env: Record<string, string>) {
  const res = spawnSync("node", [image.at(BACKUP_ENTRY), ...args], {
    cwd: "/",
    encoding: "utf8",
    env: { PATH: process.env.PATH, TMPDIR: tmp, PG_CLIENT_BIN: pgClientBin(), ...env },
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

const FLAGS = [
  "backup",
  "test",
  "--from-env",
  "--service",
  "gdpr",
  "--database",
  "gdpr_test",
  "--destination",
  `gs://${BUCKET}/test`,
  "--retention",
  "30d",
];

describe("the backup image's bundle (deployments/backup/Dockerfile's esbuild command)", () => {
  it("is what the image runs, with pg_dump of the build's major from Alpine's client package", () => {
    expect(image.dockerfile).toContain(`ENTRYPOINT ["node", "${BACKUP_ENTRY}"]`);
    expect(image.dockerfile).toContain("COPY --from=build /app/scripts/backup.js ./scripts/backup.js");
    expect(image.dockerfile).toMatch(/apk add --no-cache "postgresql\$\{POSTGRES_MAJOR\}-client"/);
    expect(image.dockerfile).toMatch(/PG_CLIENT_BIN=\/usr\/libexec\/postgresql\$\{POSTGRES_MAJOR\}/);
    expect(image.dockerfile).toMatch(/^USER 1000:1000$/m);
  });

  it("backs up a database as its read-only role to the emulator; the manifest's row counts are the database's", async () => {
    const url = server.url("gdpr_test", "gdpr_test_backup", ROLE_PASSWORD);
    const res = runBundle(FLAGS, { [BACKUP_URL_VARIABLE]: url, STORAGE_EMULATOR_HOST: gcs.endpoint });
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(
      new RegExp(
        `^gdpr_test: backup (\\d{8}T\\d{6}Z) \\(2 tables, 3 rows, \\d+ bytes\\) in gs://${BUCKET}/test; kept 30d until \\d{4}-\\d{2}-\\d{2}\\n$`,
      ),
    );
    const store = new GcsStore(gcs.endpoint, BUCKET, "test");
    const [id] = await store.ids("gdpr_test");
    const manifest = JSON.parse(await store.read(`gdpr_test/${id}/manifest.json`)) as Manifest;
    expect(manifest).toMatchObject({
      stack: "test",
      service: "gdpr",
      database: "gdpr_test",
      retentionDays: 30,
    });
    const counts = Object.fromEntries(manifest.tables.map((t) => [t.name, t.rows]));
    const su = await server.client("gdpr_test");
    try {
      const live = await su.query(
        "SELECT (SELECT count(*) FROM user_profiles)::int AS user_profiles, (SELECT count(*) FROM audit_logs)::int AS audit_logs",
      );
      expect(counts).toEqual(live.rows[0]);
    } finally {
      await su.end();
    }
    expect(counts).toEqual({ user_profiles: 3, audit_logs: 0 });
    // The dump uploaded from disk is the one the manifest describes, byte for byte.
    const dump = join(tmp, "downloaded.dump");
    await store.get(`gdpr_test/${id}/${manifest.dump.file}`, dump);
    expect(statSync(dump).size).toBe(manifest.dump.bytes);
    expect(createHash("sha256").update(readFileSync(dump)).digest("hex")).toBe(manifest.dump.sha256);
    // The password never reached a command line or the output.
    expect(res.stdout).not.toContain(ROLE_PASSWORD);
  });

  it("says what is missing: the role's URI, a flag; and refuses a destination only a stack resolves", () => {
    const missing = runBundle(FLAGS, { STORAGE_EMULATOR_HOST: gcs.endpoint });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(`backup: --from-env needs ${BACKUP_URL_VARIABLE} (the backup role's URI)\n`);
    const noRetention = runBundle(FLAGS.slice(0, -2), {});
    expect(noRetention.status).toBe(2);
    expect(noRetention.stderr).toBe("backup: --from-env needs --retention\n");
    const local = runBundle([...FLAGS.slice(0, 7), "--destination", "local", "--retention", "30d"], {});
    expect(local.stderr).toBe(
      "backup: --destination local is resolved from a stack's config: give dir:<path>, gs://<bucket>[/prefix] or s3://<bucket>[/prefix]\n",
    );
  });
});

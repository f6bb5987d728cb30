/**
 * Backups to object storage, for real: the three databases of a server the
 * program provisioned (tests/helpers/program-stack.ts) are backed up with
 * `backupDestination: gs://…` to the object-storage emulator
 * (tests/helpers/fake-gcs.ts, fake-gcs-server built from its Go module), each
 * object carrying its service's retention; then each is restored from the
 * emulator into a fresh database and verified against its manifest.
 */
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GcsStore } from "../scripts/backup/store";
import type { Manifest } from "../scripts/backup/manifest";
import { backupCli, clientAs, pgClientBin } from "./helpers/backup-cli";
import { FakeGcs, startFakeGcs } from "./helpers/fake-gcs";
import { MIGRATIONS, ProgramStack, sql, startProgramStack } from "./helpers/program-stack";

const BUCKET = "platform-backups-test";
let gcs: FakeGcs;
let stack: ProgramStack;
let pgClientBinDir: string;

function cli(...args: string[]) {
  return backupCli(stack, { PG_CLIENT_BIN: pgClientBinDir, STORAGE_EMULATOR_HOST: gcs.endpoint }, args);
}

beforeAll(async () => {
  pgClientBinDir = pgClientBin();
  gcs = await startFakeGcs();
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

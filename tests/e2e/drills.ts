/**
 * Restore drills on the test stack: a service's database is backed up as its
 * backup role (make backup's code, scripts/backup/take.ts) to a bucket of the
 * object-storage emulator, then restored with make restore's code
 * (scripts/backup/restore.ts) into a fresh database, verified against the
 * manifest. The restored copy is the admin's (pg_restore --no-owner), so a
 * service pointed at it here connects as the admin.
 */
import type { ServiceConfig } from "../../components/config/stack-config";
import { postgresUri } from "../../components/server/connection";
import type { Manifest } from "../../scripts/backup/manifest";
import { restoreService } from "../../scripts/backup/restore";
import { backupService } from "../../scripts/backup/take";
import { admin, config, outputs, ROOT, server, STACK } from "./harness";

export interface Drill {
  manifest: Manifest;
  /** The fresh database restored into. */
  database: string;
  /** Differences from the manifest (none when verified). */
  problems: string[];
  /** The admin's URI to the restored database (libpq form, sslmode of the stack). */
  uri: string;
}

/** `service`'s policy with its backups sent to `gs://<bucket>/drills` (the emulator at `endpoint`). */
function toEmulator(service: string, bucket: string): ServiceConfig {
  const svc = config().services.find((s) => s.name === service);
  if (!svc) throw new Error(`the test stack has no service ${service}`);
  return { ...svc, backup: { ...svc.backup, destination: { kind: "gcs", bucket, prefix: "drills" } } };
}

/** Backs `service` up to the emulator, restores it into `into`; the drill's result. */
export async function backupAndRestore(
  service: string,
  into: string,
  emulator: { endpoint: string; bucket: string },
): Promise<Drill> {
  const svc = toEmulator(service, emulator.bucket);
  const env = { ...process.env, STORAGE_EMULATOR_HOST: emulator.endpoint };
  const live = outputs().backupUris as Record<string, string>;
  const manifest = await backupService(STACK, svc, live[service], { root: ROOT, env });
  const r = await restoreService(STACK, config(), svc, {
    backup: manifest.id,
    into,
    liveUri: live[service],
    root: ROOT,
    env,
  });
  const s = server();
  const uri = postgresUri({
    user: s.adminUser,
    password: s.adminPassword,
    host: s.host,
    port: s.port,
    database: r.database,
    sslmode: config().sslmode,
  });
  return { manifest: r.manifest, database: r.database, problems: r.problems, uri };
}

/** Drops the drills' databases (as the admin, who created them). */
export async function dropDatabases(names: readonly string[]): Promise<void> {
  const c = await admin();
  try {
    for (const name of names) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

/**
 * When each service's last good backup was taken, read from its destination:
 * the newest backup id (its UTC time) that has a manifest, which
 * scripts/backup.ts writes last. Used by `make check` (`backup-age` rows) and
 * `make metrics` (postgres_backup_last_success_timestamp_seconds).
 */
import type { ServiceConfig } from "../../components/config/stack-config";
import type { BackupStatus } from "../../components/observability/backup-age";
import { storeFor } from "./store";

/** `20261201T014300Z` → its Date; undefined for anything else. */
export function backupIdTime(id: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(id);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

export async function readBackupStatus(
  stack: string,
  services: readonly ServiceConfig[],
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BackupStatus[]> {
  return Promise.all(
    services.map(async (svc): Promise<BackupStatus> => {
      const base = { service: svc.name, database: svc.database, schedule: svc.backup.schedule };
      try {
        const ids = await storeFor(svc.backup.destination, stack, root, env).ids(svc.database);
        const last = ids
          .map(backupIdTime)
          .filter((t): t is Date => t !== undefined)
          .pop();
        return last ? { ...base, lastSuccess: last } : base;
      } catch (err) {
        return { ...base, error: (err as Error).message };
      }
    }),
  );
}

/**
 * The destination `bucket` is the bucket the stack creates for the service
 * (targets gcp and aws); its URL is known from the stack's `backupBuckets`
 * output. Resolved here before a store is opened (store.ts takes only
 * folders and bucket URLs). Pure.
 */
import type { ServiceConfig } from "../../components/config/stack-config";
import { parseBackupDestination } from "../../components/config/backup-config";

/**
 * `services` with each `bucket` destination replaced by the bucket's URL from
 * the stack's outputs. A service whose bucket the outputs do not name yet
 * (no `make up` since it was configured) keeps `bucket`, and opening its
 * store says so.
 */
export function withStackBuckets(services: readonly ServiceConfig[], outputs: object): ServiceConfig[] {
  const buckets = (outputs as { backupBuckets?: unknown }).backupBuckets;
  const urls = typeof buckets === "object" && buckets !== null ? (buckets as Record<string, unknown>) : {};
  return services.map((svc) => {
    if (svc.backup.destination.kind !== "bucket") return svc;
    const url = urls[svc.name];
    if (typeof url !== "string") return svc;
    const destination = parseBackupDestination(url);
    if (typeof destination === "string") {
      throw new Error(
        `the stack's backupBuckets output gives ${svc.name} ${JSON.stringify(url)}: ${destination}`,
      );
    }
    return { ...svc, backup: { ...svc.backup, destination } };
  });
}

/** Host, port and sslmode of a cloud stack's instance, from a service's connection URI (stack output). */
export function serverOf(
  outputs: object,
  service: string,
): { host: string; port: number; sslmode: string } | undefined {
  const uris = (outputs as { connectionUris?: unknown }).connectionUris;
  const uri =
    typeof uris === "object" && uris !== null ? (uris as Record<string, unknown>)[service] : undefined;
  if (typeof uri !== "string") return undefined;
  const u = new URL(uri);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: Number(u.port || 5432),
    sslmode: u.searchParams.get("sslmode") ?? "require",
  };
}

/**
 * What a backup destination offers (store.ts picks one per service): objects
 * keyed `<database>/<id>/<file>`, the manifest written last, so a backup
 * without one is incomplete and never listed.
 */

export const MANIFEST = "manifest.json";

/** How long an object must be kept (object storage enforces it; a folder cannot). */
export interface Retention {
  retainUntil: Date;
  locked: boolean;
}

export interface BackupStore {
  /** For messages: where the backups are. */
  readonly where: string;
  put(key: string, localFile: string, retention?: Retention): Promise<void>;
  get(key: string, localFile: string): Promise<void>;
  read(key: string): Promise<string>;
  /** Ids of the complete backups (with a manifest) of `database`, oldest first. */
  ids(database: string): Promise<string[]>;
  /** Keys of the files directly under `prefix` (which ends in `/`), sorted. */
  list(prefix: string): Promise<string[]>;
}

/** `prefix` + `key`, as a bucket names the object (no prefix: the key). */
export function objectName(prefix: string, key: string): string {
  return prefix ? `${prefix}/${key}` : key;
}

/**
 * From every object name under `<prefix>/<database>/` in a bucket, the ids of
 * the complete backups (a `<id>/manifest.json` right under it), sorted.
 */
export function completeIds(names: readonly string[], databasePrefix: string): string[] {
  return names
    .filter((n) => n.startsWith(databasePrefix) && n.endsWith(`/${MANIFEST}`))
    .map((n) => n.slice(databasePrefix.length, -MANIFEST.length - 1))
    .filter((id) => id !== "" && !id.includes("/"))
    .sort();
}

/** The keys (without the bucket's prefix) of the objects directly under `fullPrefix`, sorted. */
export function keysDirectlyUnder(
  names: readonly string[],
  fullPrefix: string,
  bucketPrefix: string,
): string[] {
  const strip = objectName(bucketPrefix, "").length;
  return names
    .filter((n) => n.startsWith(fullPrefix) && !n.slice(fullPrefix.length).includes("/"))
    .map((n) => n.slice(strip))
    .sort();
}

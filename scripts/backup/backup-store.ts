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

/**
 * A bucket (GCS, S3) under an optional prefix: a subclass lists object names
 * and moves bytes; which listed objects are complete backups, and which keys
 * sit directly under a prefix, is decided here once.
 */
export abstract class BucketStore implements BackupStore {
  constructor(
    readonly bucket: string,
    readonly prefix: string,
  ) {}
  abstract readonly where: string;
  abstract put(key: string, localFile: string, retention?: Retention): Promise<void>;
  abstract get(key: string, localFile: string): Promise<void>;
  abstract read(key: string): Promise<string>;
  /** Every object name (with the bucket's prefix) that starts with `prefix`, every page. */
  protected abstract names(prefix: string): Promise<string[]>;

  /** The object name of `key`: the bucket's prefix and the key. */
  protected name(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async ids(database: string): Promise<string[]> {
    const prefix = this.name(`${database}/`);
    return (await this.names(prefix))
      .filter((n) => n.endsWith(`/${MANIFEST}`))
      .map((n) => n.slice(prefix.length, -MANIFEST.length - 1))
      .filter((id) => id !== "" && !id.includes("/"))
      .sort();
  }

  async list(prefix: string): Promise<string[]> {
    const full = this.name(prefix);
    const strip = this.name("").length;
    return (await this.names(full))
      .filter((n) => !n.slice(full.length).includes("/"))
      .map((n) => n.slice(strip))
      .sort();
  }
}

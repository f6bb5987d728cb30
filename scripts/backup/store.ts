/**
 * Where backups are kept, by the service's `backupDestination`: a folder
 * (`local`: the stack's .local/backups/<stack>/, or `dir:<path>`). Objects are
 * keyed `<database>/<id>/<file>`; the manifest is written last, so a backup
 * without one is incomplete and never listed.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { BackupDestination } from "../../components/config/stack-config";

export interface BackupStore {
  /** For messages: where the backups are. */
  readonly where: string;
  put(key: string, localFile: string): Promise<void>;
  get(key: string, localFile: string): Promise<void>;
  read(key: string): Promise<string>;
  /** Ids of the complete backups (with a manifest) of `database`, oldest first. */
  ids(database: string): Promise<string[]>;
}

export const MANIFEST = "manifest.json";

class DirStore implements BackupStore {
  constructor(readonly root: string) {}
  get where() {
    return this.root;
  }
  async put(key: string, localFile: string) {
    const to = join(this.root, key);
    mkdirSync(dirname(to), { recursive: true });
    // Copied beside it, then renamed: a reader never sees half a file.
    copyFileSync(localFile, `${to}.partial`);
    renameSync(`${to}.partial`, to);
  }
  async get(key: string, localFile: string) {
    copyFileSync(join(this.root, key), localFile);
  }
  async read(key: string) {
    return readFileSync(join(this.root, key), "utf8");
  }
  async ids(database: string) {
    const dir = join(this.root, database);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((id) => existsSync(join(dir, id, MANIFEST)))
      .sort();
  }
}

/** The store of one service's destination; `root` is the project root (for `local`). */
export function storeFor(destination: BackupDestination, stack: string, root: string): BackupStore {
  switch (destination.kind) {
    case "local":
      return new DirStore(join(root, ".local", "backups", stack));
    case "dir":
      return new DirStore(isAbsolute(destination.path) ? destination.path : resolve(root, destination.path));
    default:
      throw new Error(
        `backup destination ${destination.kind} is not supported by make backup yet (local and dir:<path> are)`,
      );
  }
}

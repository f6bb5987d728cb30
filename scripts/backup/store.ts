/**
 * Where backups are kept, by the service's `backupDestination`: a folder
 * (`local`: the stack's .local/backups/<stack>/, or `dir:<path>`), a GCS
 * bucket (`gs://bucket/prefix`, gcs-store.ts) or an S3 bucket
 * (`s3://bucket/prefix`, s3-store.ts). Objects are keyed
 * `<database>/<id>/<file>`; the manifest is written last, so a backup
 * without one is incomplete and never listed.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { BackupDestination } from "../../components/config/stack-config";
import { GCS_ENDPOINT, metadataTokenSource } from "./gcs-auth";
import { GcsStore } from "./gcs-store";
import { S3Store } from "./s3-store";
import { MANIFEST } from "./backup-store";
import type { BackupStore } from "./backup-store";

export { MANIFEST } from "./backup-store";
export type { BackupStore, Retention } from "./backup-store";

class DirStore implements BackupStore {
  constructor(readonly root: string) {}
  get where() {
    return this.root;
  }
  async put(key: string, localFile: string) {
    // A folder keeps no retention: the policy's date is in the manifest.
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
  async list(prefix: string) {
    const dir = join(this.root, prefix);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => !f.endsWith(".partial"))
      .map((f) => `${prefix}${f}`)
      .sort();
  }
}

/** The store of one service's destination; `root` is the project root (for `local`). */
export function storeFor(
  destination: BackupDestination,
  stack: string,
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): BackupStore {
  switch (destination.kind) {
    case "local":
      return new DirStore(join(root, ".local", "backups", stack));
    case "dir":
      return new DirStore(isAbsolute(destination.path) ? destination.path : resolve(root, destination.path));
    case "gcs": {
      const host = env.STORAGE_EMULATOR_HOST;
      if (host) return new GcsStore(host.replace(/\/+$/, ""), destination.bucket, destination.prefix);
      return new GcsStore(GCS_ENDPOINT, destination.bucket, destination.prefix, metadataTokenSource(env));
    }
    case "s3":
      return new S3Store(destination.bucket, destination.prefix, env);
    case "bucket":
      // stack-buckets.ts resolves it from the stack's outputs; unresolved, the stack has not created it yet.
      throw new Error(
        `the stack's backup bucket is not in stack "${stack}"'s outputs (backupBuckets) yet: run make up STACK=${stack}`,
      );
  }
}

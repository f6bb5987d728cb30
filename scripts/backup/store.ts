/**
 * Where backups are kept, by the service's `backupDestination`: a folder
 * (`local`: the stack's .local/backups/<stack>/, or `dir:<path>`) or a GCS
 * bucket (`gs://bucket/prefix`) through the JSON API: the emulator named by
 * STORAGE_EMULATOR_HOST (no credentials), else storage.googleapis.com with an
 * access token from the metadata server (GKE workload identity: the backup
 * CronJob's ServiceAccount; gcs-auth.ts). Each object carries its retention
 * (retainUntilTime from the service's policy, mode Locked when the policy is
 * locked). Objects are keyed `<database>/<id>/<file>`; the manifest is written
 * last, so a backup without one is incomplete and never listed.
 */
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openAsBlob,
  readdirSync,
  readFileSync,
  renameSync,
} from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { BackupDestination } from "../../components/config/stack-config";
import { GCS_ENDPOINT, metadataTokenSource, TokenSource } from "./gcs-auth";

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

export const MANIFEST = "manifest.json";

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

/** A GCS bucket through the JSON API at `endpoint`: with `token`'s bearer tokens, or none (the emulator). */
export class GcsStore implements BackupStore {
  constructor(
    readonly endpoint: string,
    readonly bucket: string,
    readonly prefix: string,
    readonly token?: TokenSource,
  ) {}
  get where() {
    return `gs://${this.bucket}${this.prefix ? `/${this.prefix}` : ""}`;
  }
  private name(key: string) {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }
  private async call(path: string, init?: RequestInit): Promise<Response> {
    const auth = this.token ? { Authorization: `Bearer ${await this.token()}` } : undefined;
    const res = await fetch(`${this.endpoint}${path}`, {
      ...init,
      headers: { ...(init?.headers as Record<string, string> | undefined), ...auth },
    });
    if (!res.ok)
      throw new Error(`${this.where}: ${init?.method ?? "GET"} ${path}: ${res.status} ${await res.text()}`);
    return res;
  }
  async put(key: string, localFile: string, retention?: Retention) {
    // Multipart upload: the object's metadata (name, retention), then its bytes.
    const boundary = `backup-${Date.now().toString(36)}`;
    const metadata = {
      name: this.name(key),
      ...(retention
        ? {
            retention: {
              mode: retention.locked ? "Locked" : "Unlocked",
              retainUntilTime: retention.retainUntil.toISOString(),
            },
          }
        : {}),
    };
    // The file is a part read from disk as the body is sent, not a copy in memory.
    const body = new Blob([
      `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(metadata)}\r\n` +
        `--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`,
      await openAsBlob(localFile),
      `\r\n--${boundary}--\r\n`,
    ]);
    await this.call(`/upload/storage/v1/b/${encodeURIComponent(this.bucket)}/o?uploadType=multipart`, {
      method: "POST",
      headers: { "Content-Type": `multipart/related; boundary=${boundary}` },
      body,
    });
  }
  async get(key: string, localFile: string) {
    const res = await this.call(this.objectPath(key, "?alt=media"));
    if (!res.body) throw new Error(`${this.where}: ${key} has no body`);
    await pipeline(Readable.fromWeb(res.body as WebReadableStream), createWriteStream(localFile));
  }
  async read(key: string) {
    return (await this.call(this.objectPath(key, "?alt=media"))).text();
  }
  /** The object's metadata as the API returns it (retention included). */
  async stat(key: string): Promise<Record<string, unknown>> {
    return (await (await this.call(this.objectPath(key, ""))).json()) as Record<string, unknown>;
  }
  private objectPath(key: string, query: string) {
    return `/storage/v1/b/${encodeURIComponent(this.bucket)}/o/${encodeURIComponent(this.name(key))}${query}`;
  }
  /** Object names (with the prefix) under `prefix`, every page. */
  private async names(prefix: string): Promise<string[]> {
    const names: string[] = [];
    let token = "";
    do {
      const q = `?prefix=${encodeURIComponent(prefix)}${token ? `&pageToken=${encodeURIComponent(token)}` : ""}`;
      const page = (await (
        await this.call(`/storage/v1/b/${encodeURIComponent(this.bucket)}/o${q}`)
      ).json()) as {
        items?: { name: string }[];
        nextPageToken?: string;
      };
      names.push(...(page.items ?? []).map((i) => i.name));
      token = page.nextPageToken ?? "";
    } while (token);
    return names;
  }
  async ids(database: string) {
    const prefix = this.name(`${database}/`);
    return (await this.names(prefix))
      .filter((n) => n.endsWith(`/${MANIFEST}`))
      .map((n) => n.slice(prefix.length, -MANIFEST.length - 1))
      .filter((id) => !id.includes("/"))
      .sort();
  }
  async list(prefix: string) {
    const full = this.name(prefix);
    const strip = this.name("").length;
    return (await this.names(full))
      .filter((n) => !n.slice(full.length).includes("/"))
      .map((n) => n.slice(strip))
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
    default:
      throw new Error(
        `backup destination ${destination.kind} is not supported by make backup yet (local, dir:<path> and gs:// are)`,
      );
  }
}

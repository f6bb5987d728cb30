/**
 * A GCS bucket as a backup store, through the JSON API: the emulator named by
 * STORAGE_EMULATOR_HOST (no credentials), else storage.googleapis.com with an
 * access token from the metadata server (GKE workload identity: the backup
 * CronJob's ServiceAccount; gcs-auth.ts). Each object carries its retention
 * (retainUntilTime from the service's policy, mode Locked when the policy is
 * locked).
 *
 * Hand-written on fetch rather than @google-cloud/storage: the five calls it
 * needs (multipart upload, media download, metadata, list) are a page of code,
 * and the client library would bring gaxios, google-auth-library and their
 * dependencies into the backup image for them.
 */
import { createWriteStream, openAsBlob } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { TokenSource } from "./gcs-auth";
import { BucketStore } from "./backup-store";
import type { Retention } from "./backup-store";

/** A GCS bucket through the JSON API at `endpoint`: with `token`'s bearer tokens, or none (the emulator). */
export class GcsStore extends BucketStore {
  constructor(
    readonly endpoint: string,
    bucket: string,
    prefix: string,
    readonly token?: TokenSource,
  ) {
    super(bucket, prefix);
  }
  get where() {
    return `gs://${this.bucket}${this.prefix ? `/${this.prefix}` : ""}`;
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
  protected async names(prefix: string): Promise<string[]> {
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
}

/**
 * An S3 bucket as a backup store, through the AWS SDK's S3 client.
 *
 * Credentials come from the SDK's default chain: AWS_ACCESS_KEY_ID/… in the
 * environment, else the web identity token of AWS_ROLE_ARN +
 * AWS_WEB_IDENTITY_TOKEN_FILE (EKS: the backup CronJob's ServiceAccount role,
 * the projected token the job mounts), a profile, or the instance's role. No
 * key is ever written anywhere by this code.
 *
 * The region is AWS_REGION (the backup CronJob sets the stack's awsRegion),
 * else AWS_DEFAULT_REGION, else us-east-1, and requests follow S3's redirect
 * to the bucket's region. AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL point it at
 * an S3-compatible server (the tests' emulator), path-style.
 *
 * Retention: a locked policy (prod, a year or more) uploads every object with
 * Object Lock in COMPLIANCE mode until the backup's time plus the policy's
 * days: nobody, the account's root included, can delete or shorten it, and a
 * bucket without Object Lock refuses the upload, which is the point. An
 * unlocked policy sends no per-object retention: the bucket's default
 * retention applies (the buckets the stack creates have GOVERNANCE for the
 * service's days, components/backup/backup-bucket.ts) and its lifecycle rule
 * expires the objects afterwards. Encryption is the bucket's default
 * (SSE-KMS with backupKmsKey on the stack's buckets).
 */
import { createReadStream, createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { BucketStore } from "./backup-store";
import type { Retention } from "./backup-store";

/** The region when the environment names none (requests then follow S3's redirect). */
export const DEFAULT_S3_REGION = "us-east-1";

/** The S3 client's settings from `env` (pure). */
export function s3ClientConfig(env: NodeJS.ProcessEnv): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const keys =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {};
  return {
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || DEFAULT_S3_REGION,
    followRegionRedirects: true,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ...keys,
  };
}

/** What HeadObject says of an object's lock and encryption (for checks and tests). */
export interface S3ObjectLock {
  mode?: string;
  retainUntil?: Date;
  encryption?: string;
}

export class S3Store extends BucketStore {
  private readonly client: S3Client;

  constructor(bucket: string, prefix: string, env: NodeJS.ProcessEnv = process.env) {
    super(bucket, prefix);
    this.client = new S3Client(s3ClientConfig(env));
  }

  get where() {
    return `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ""}`;
  }

  /** Runs one call; an error names the bucket, the call and the key, and says where credentials come from when none were found. */
  private async call<T>(what: string, key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      const e = err as Error;
      const hint =
        e.name === "CredentialsProviderError"
          ? " (no AWS credentials: the backup CronJob gets them from its ServiceAccount's IAM role, config backupIdentities; " +
            "make backup from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance's role)"
          : "";
      throw new Error(`${this.where}: ${what} ${key}: ${e.name}: ${e.message}${hint}`, { cause: err });
    }
  }

  async put(key: string, localFile: string, retention?: Retention) {
    const lock =
      retention?.locked === true
        ? { ObjectLockMode: "COMPLIANCE" as const, ObjectLockRetainUntilDate: retention.retainUntil }
        : {};
    // Streamed from disk; multipart above 5 MiB, so a dump need not fit in memory.
    await this.call("upload", key, () =>
      new Upload({
        client: this.client,
        params: {
          Bucket: this.bucket,
          Key: this.name(key),
          Body: createReadStream(localFile),
          ContentType: "application/octet-stream",
          ...lock,
        },
      }).done(),
    );
  }

  private async body(key: string) {
    const res = await this.call("GetObject", key, () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.name(key) })),
    );
    if (!res.Body) throw new Error(`${this.where}: ${key} has no body`);
    return res.Body;
  }

  async get(key: string, localFile: string) {
    await pipeline((await this.body(key)) as Readable, createWriteStream(localFile));
  }

  async read(key: string) {
    return (await this.body(key)).transformToString("utf8");
  }

  /** The object's lock and encryption as S3 reports them. */
  async lock(key: string): Promise<S3ObjectLock> {
    const head = await this.call("HeadObject", key, () =>
      this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.name(key) })),
    );
    return {
      mode: head.ObjectLockMode,
      retainUntil: head.ObjectLockRetainUntilDate,
      encryption: head.ServerSideEncryption,
    };
  }

  /** Object names (with the bucket's prefix) under `prefix`, every page. */
  protected async names(prefix: string): Promise<string[]> {
    return this.call("ListObjectsV2", prefix, async () => {
      const names: string[] = [];
      for await (const page of paginateListObjectsV2(
        { client: this.client },
        { Bucket: this.bucket, Prefix: prefix },
      )) {
        for (const o of page.Contents ?? []) if (o.Key) names.push(o.Key);
      }
      return names;
    });
  }
}

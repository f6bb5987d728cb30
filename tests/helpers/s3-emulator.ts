/**
 * The S3 emulator (moto's server, installed by scripts/ensure-s3-emulator.sh)
 * on a free loopback port, in memory, plain HTTP: the S3 API (versioning,
 * Object Lock) and STS (AssumeRoleWithWebIdentity) the backup store talks to
 * through AWS_ENDPOINT_URL. Stop it in afterAll.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { CreateBucketCommand, PutObjectLockConfigurationCommand, S3Client } from "@aws-sdk/client-s3";
import { freePort } from "./pg-server";
import { spawnAnswering } from "./serve";

export interface S3Emulator {
  /** `http://127.0.0.1:<port>`: the value of AWS_ENDPOINT_URL. */
  endpoint: string;
  /** The environment of a process that writes to it with a key (the emulator takes any). */
  env: Record<string, string>;
  /** A bucket; with `lock`, Object Lock on and that default retention (as the stack creates them on aws). */
  createBucket(name: string, lock?: { mode: "GOVERNANCE" | "COMPLIANCE"; days: number }): Promise<void>;
  stop(): void;
}

export function s3EmulatorBinary(): string {
  const res = spawnSync(resolve(__dirname, "..", "..", "scripts", "ensure-s3-emulator.sh"), {
    encoding: "utf8",
  });
  if (res.status !== 0) throw new Error(`scripts/ensure-s3-emulator.sh failed:\n${res.stderr}`);
  return res.stdout.trim().split("\n").pop() as string;
}

export async function startS3Emulator(timeoutMs = 60_000): Promise<S3Emulator> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = await spawnAnswering(
    "moto_server",
    s3EmulatorBinary(),
    ["-H", "127.0.0.1", "-p", String(port)],
    `${endpoint}/moto-api/data.json`,
    timeoutMs,
    100,
  );
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: "emulator",
    AWS_SECRET_ACCESS_KEY: "emulator",
    AWS_REGION: "eu-west-1" as const,
  };
  const client = new S3Client({
    endpoint,
    region: env.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
  return {
    endpoint,
    env,
    async createBucket(name, lock) {
      await client.send(
        new CreateBucketCommand({
          Bucket: name,
          CreateBucketConfiguration: { LocationConstraint: env.AWS_REGION },
          ...(lock ? { ObjectLockEnabledForBucket: true } : {}),
        }),
      );
      if (lock) {
        await client.send(
          new PutObjectLockConfigurationCommand({
            Bucket: name,
            ObjectLockConfiguration: {
              ObjectLockEnabled: "Enabled",
              Rule: { DefaultRetention: { Mode: lock.mode, Days: lock.days } },
            },
          }),
        );
      }
    },
    stop() {
      child.kill();
    },
  };
}

/**
 * The object-storage emulator (fake-gcs-server, built from its Go module by
 * scripts/ensure-fake-gcs.sh) on a free loopback port, in memory, plain HTTP:
 * the GCS JSON API the backup store talks to through STORAGE_EMULATOR_HOST.
 * Stop it in afterAll.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { freePort } from "./pg-server";
import { spawnAnswering } from "./serve";

export interface FakeGcs {
  /** `http://127.0.0.1:<port>`: the value of STORAGE_EMULATOR_HOST. */
  endpoint: string;
  createBucket(name: string): Promise<void>;
  stop(): void;
}

export function fakeGcsBinary(): string {
  const res = spawnSync(resolve(__dirname, "..", "..", "scripts", "ensure-fake-gcs.sh"), {
    encoding: "utf8",
  });
  if (res.status !== 0) throw new Error(`scripts/ensure-fake-gcs.sh failed:\n${res.stderr}`);
  return res.stdout.trim().split("\n").pop() as string;
}

export async function startFakeGcs(timeoutMs = 30_000): Promise<FakeGcs> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = await spawnAnswering(
    "fake-gcs-server",
    fakeGcsBinary(),
    [
      "-scheme",
      "http",
      "-host",
      "127.0.0.1",
      "-port",
      String(port),
      "-backend",
      "memory",
      "-external-url",
      endpoint,
      "-public-host",
      `127.0.0.1:${port}`,
      "-log-level",
      "warn",
    ],
    `${endpoint}/storage/v1/b`,
    timeoutMs,
  );
  return {
    endpoint,
    async createBucket(name: string) {
      const res = await fetch(`${endpoint}/storage/v1/b?project=test`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name }),
      });
      if (!res.ok) throw new Error(`creating bucket ${name}: ${res.status} ${await res.text()}`);
    },
    stop() {
      child.kill();
    },
  };
}

/**
 * A real GCS bucket is reached with the metadata server's token, no key
 * (scripts/backup/gcs-auth.ts): storeFor sends gs:// destinations to
 * storage.googleapis.com with it unless STORAGE_EMULATOR_HOST names the
 * emulator. The cloud is stood in for by a fake metadata server (the GKE
 * metadata server's token endpoint) and a recording proxy in front of the
 * object-storage emulator, so that every request's Authorization is seen.
 */
import { createServer, IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GCS_ENDPOINT, metadataTokenSource } from "../scripts/backup/gcs-auth";
import { GcsStore } from "../scripts/backup/gcs-store";
import { storeFor } from "../scripts/backup/store";
import { FakeGcs, startFakeGcs } from "./helpers/fake-gcs";
import { freePort } from "./helpers/pg-server";

let gcs: FakeGcs;
let metadata: Server;
let proxy: Server;
const tokenRequests: (string | undefined)[] = [];
const authorizations: (string | undefined)[] = [];

function listen(server: Server): Promise<string> {
  return new Promise((ok) =>
    server.listen(0, "127.0.0.1", () => ok(`127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

let metadataHost: string;
let proxyEndpoint: string;

beforeAll(async () => {
  gcs = await startFakeGcs();
  await gcs.createBucket("wi-backups");
  metadata = createServer((req, res) => {
    tokenRequests.push(req.headers["metadata-flavor"] as string | undefined);
    if (
      req.url !== "/computeMetadata/v1/instance/service-accounts/default/token" ||
      req.headers["metadata-flavor"] !== "Google"
    ) {
      res.writeHead(403).end("missing Metadata-Flavor");
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ access_token: "ya29.token-1", expires_in: 3599, token_type: "Bearer" }));
  });
  metadataHost = await listen(metadata);
  proxy = createServer(async (req, res) => {
    authorizations.push(req.headers.authorization);
    const headers = { ...req.headers } as Record<string, string>;
    delete headers.host;
    delete headers.authorization;
    const upstream = await fetch(`${gcs.endpoint}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === "GET" ? undefined : await body(req),
    });
    res.writeHead(upstream.status, {
      "Content-Type": upstream.headers.get("content-type") ?? "application/octet-stream",
    });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  proxyEndpoint = `http://${await listen(proxy)}`;
}, 600_000);

afterAll(() => {
  gcs?.stop();
  metadata?.close();
  proxy?.close();
});

describe("GCS with the metadata server's token", () => {
  it("every request carries the token; the token is fetched once and reused", async () => {
    const store = new GcsStore(
      proxyEndpoint,
      "wi-backups",
      "prod",
      metadataTokenSource({ GCE_METADATA_HOST: metadataHost }),
    );
    const retainUntil = new Date(Date.now() + 30 * 86_400_000);
    await store.put("gdpr/20261201T014300Z/manifest.json", resolve(__dirname, "..", "package.json"), {
      retainUntil,
      locked: false,
    });
    expect(await store.ids("gdpr")).toEqual(["20261201T014300Z"]);
    expect(JSON.parse(await store.read("gdpr/20261201T014300Z/manifest.json")).name).toBe(
      "platform-databases",
    );
    expect(authorizations.length).toBe(3);
    expect(new Set(authorizations)).toEqual(new Set(["Bearer ya29.token-1"]));
    expect(tokenRequests).toEqual(["Google"]);
  });

  it("storeFor: the emulator without credentials when STORAGE_EMULATOR_HOST is set, else storage.googleapis.com with the token", () => {
    const d = { kind: "gcs" as const, bucket: "b", prefix: "p" };
    const emulator = storeFor(d, "prod", "/", { STORAGE_EMULATOR_HOST: "http://127.0.0.1:1/" }) as GcsStore;
    expect([emulator.endpoint, emulator.token]).toEqual(["http://127.0.0.1:1", undefined]);
    const real = storeFor(d, "prod", "/", {}) as GcsStore;
    expect(real.endpoint).toBe(GCS_ENDPOINT);
    expect(real.endpoint).toBe("https://storage.googleapis.com");
    expect(typeof real.token).toBe("function");
    expect(real.where).toBe("gs://b/p");
  });

  it("a metadata server that does not answer is named, with what to do", async () => {
    const host = `127.0.0.1:${await freePort()}`;
    await expect(metadataTokenSource({ GCE_METADATA_HOST: host })()).rejects.toThrow(
      new RegExp(
        `^no access token for GCS: the metadata server ${host} did not answer \\(.*\\); a real bucket is written from the cluster's backup job \\(workload identity\\), or set STORAGE_EMULATOR_HOST for the emulator$`,
      ),
    );
    const forbidden = createServer((_req, res) => res.writeHead(404).end("no such service account"));
    const at = await listen(forbidden);
    try {
      await expect(metadataTokenSource({ GCE_METADATA_HOST: at })()).rejects.toThrow(
        `no access token for GCS: http://${at}/computeMetadata/v1/instance/service-accounts/default/token answered 404 no such service account`,
      );
    } finally {
      forbidden.close();
    }
  });
});

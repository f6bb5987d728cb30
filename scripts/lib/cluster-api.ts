/**
 * The local control plane's API (scripts/local-cluster.ts): requests as its
 * admin (client certificate), and the prometheus-operator CRDs applied
 * server-side and awaited until clients can use them.
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { parse } from "yaml";
import { waitFor } from "./cluster-processes";

export interface LocalCluster {
  dir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  kubeconfig: string;
  etcdPort: number;
  apiserverPort: number;
}

/** A request to the API server as the admin; resolves with status and body. */
export function apiRequest(
  cluster: LocalCluster,
  method: string,
  path: string,
  body?: string,
  contentType = "application/json",
): Promise<{ status: number; body: string }> {
  const pki = join(cluster.dir, "pki");
  return new Promise((ok, fail) => {
    const req = request(
      `${cluster.server}${path}`,
      {
        method,
        ca: readFileSync(join(pki, "ca.crt")),
        cert: readFileSync(join(pki, "admin.crt")),
        key: readFileSync(join(pki, "admin.key")),
        headers: body === undefined ? {} : { "content-type": contentType },
        timeout: 10_000,
      },
      (res) => {
        let data = "";
        res.on("data", (d: Buffer) => (data += d.toString()));
        res.on("end", () => ok({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on("error", fail);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Applies the prometheus-operator CRDs server-side and waits until each is Established. */
export async function installCrds(
  cluster: LocalCluster,
  crdDir: string,
  log: (message: string) => void,
): Promise<void> {
  const plurals = readFileSync(join(crdDir, "crds.txt"), "utf8").trim().split("\n");
  for (const plural of plurals) {
    const doc = parse(readFileSync(join(crdDir, `monitoring.coreos.com_${plural}.yaml`), "utf8")) as {
      metadata: { name: string };
    };
    const name = doc.metadata.name;
    const res = await apiRequest(
      cluster,
      "PATCH",
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=platform-databases&force=true`,
      JSON.stringify(doc),
      "application/apply-patch+yaml",
    );
    if (res.status >= 300) throw new Error(`applying CRD ${name}: HTTP ${res.status}: ${res.body}`);
    await waitFor(
      `CRD ${name} Established`,
      async () => {
        const r = await apiRequest(
          cluster,
          "GET",
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
        );
        const crd = JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } };
        return (crd.status?.conditions ?? []).some((c) => c.type === "Established" && c.status === "True");
      },
      () => undefined,
      60_000,
    );
    log(`CRD ${name} installed`);
  }
  // Discovery serves the group once its CRDs are established (clients such as
  // the provider need it), and each resource's storage answers a list (until
  // then: 429 "storage is (re)initializing").
  await waitFor(
    "monitoring.coreos.com/v1 in discovery",
    async () => {
      const r = await apiRequest(cluster, "GET", "/apis/monitoring.coreos.com/v1");
      return r.status === 200 && plurals.every((p) => r.body.includes(`"name":"${p}"`));
    },
    () => undefined,
    60_000,
  );
  for (const plural of plurals) {
    await waitFor(
      `${plural}.monitoring.coreos.com listable`,
      async () =>
        (await apiRequest(cluster, "GET", `/apis/monitoring.coreos.com/v1/${plural}?limit=1`)).status === 200,
      () => undefined,
      60_000,
    );
  }
}

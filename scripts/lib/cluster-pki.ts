/**
 * The local control plane's certificates and kubeconfig (scripts/local-cluster.ts):
 * made once with openssl under <dir>/pki, the kubeconfig rewritten at every start
 * (the API server's port is the state's).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The kubeconfig's cluster, user (with `-admin`) and context name. */
export const CLUSTER_CONTEXT = "platform-databases-local";

/** openssl with `words` (split on spaces; no argument here has one) then `extra` arguments, in `cwd`. */
function openssl(cwd: string, words: string, ...extra: string[]): void {
  execFileSync("openssl", [...words.split(" "), ...extra], { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA, the API server's serving certificate, the admin's client certificate, the service-account key. */
export function makePki(pki: string): void {
  if (existsSync(join(pki, "admin.crt"))) return;
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const days = "-days 3650";
  openssl(
    pki,
    `req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt ${days}`,
    "-subj",
    "/CN=platform-databases-local-ca",
  );
  writeFileSync(
    join(pki, "apiserver.ext"),
    "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default," +
      "DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n",
  );
  writeFileSync(join(pki, "client.ext"), "extendedKeyUsage=clientAuth\n");
  const leaf = (name: string, subject: string, ext: string) => {
    openssl(pki, `req -newkey rsa:2048 -nodes -keyout ${name}.key -out ${name}.csr`, "-subj", subject);
    openssl(
      pki,
      `x509 -req -in ${name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out ${name}.crt ${days} -extfile ${ext}`,
    );
  };
  leaf("apiserver", "/CN=kube-apiserver", "apiserver.ext");
  openssl(pki, "genrsa -out sa.key 2048");
  openssl(pki, "rsa -in sa.key -pubout -out sa.pub");
  // Last: its certificate marks the PKI complete.
  leaf("admin", "/O=system:masters/CN=platform-databases-admin", "client.ext");
}

/** <dir>/kubeconfig (mode 0600): the admin's client certificate for `server`. */
export function writeKubeconfig(dir: string, server: string): void {
  const pki = join(dir, "pki");
  const b64 = (f: string) => readFileSync(join(pki, f)).toString("base64");
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: CLUSTER_CONTEXT, cluster: { server, "certificate-authority-data": b64("ca.crt") } }],
    users: [
      {
        name: `${CLUSTER_CONTEXT}-admin`,
        user: { "client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key") },
      },
    ],
    contexts: [
      { name: CLUSTER_CONTEXT, context: { cluster: CLUSTER_CONTEXT, user: `${CLUSTER_CONTEXT}-admin` } },
    ],
    "current-context": CLUSTER_CONTEXT,
  };
  writeFileSync(join(dir, "kubeconfig"), JSON.stringify(kubeconfig, null, 2), { mode: 0o600 });
}

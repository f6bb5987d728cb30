/**
 * A local Kubernetes control plane for the tests and for newcomers: etcd,
 * kube-apiserver and kube-controller-manager (built from Go modules by
 * scripts/ensure-kube-control-plane.sh, cached) on loopback, with no kubelet
 * or scheduler. The API server stores and validates objects (Secrets,
 * CronJobs, PrometheusRules, Deployments), which is what the program's
 * cluster half is tested against; the controller manager runs only the
 * garbage collector (a delete with foreground propagation, the kubernetes
 * provider's default, waits for it) and the namespace controller (a deleted
 * namespace goes away). No pod ever runs.
 *
 *   tsx scripts/local-cluster.ts start [dir]    certificates and kubeconfig (once), start, wait
 *                                               for /readyz, install the CRDs
 *   tsx scripts/local-cluster.ts stop [dir]     stop both processes (data kept)
 *   tsx scripts/local-cluster.ts reset [dir]    stop and delete the directory
 *   tsx scripts/local-cluster.ts status [dir]
 *   tsx scripts/local-cluster.ts stack-config <stack> [namespace]
 *                                               for `make up CLUSTER=1`: creates the namespace
 *                                               (default "databases") in the running cluster and
 *                                               writes .local/<stack>/Pulumi.<stack>.cluster.yaml, the
 *                                               committed stack config plus kubernetes: true, the
 *                                               namespace and the kubeconfig; prints its path
 *
 * dir defaults to .local/cluster (git-ignored). It holds pki/ (a CA, the API
 * server's serving certificate, an admin client certificate in system:masters,
 * the service-account signing key; made with openssl; the controller manager
 * uses the admin's kubeconfig), etcd/ (data), the logs,
 * state.json (ports and process ids) and `kubeconfig` (context
 * "platform-databases-local"). Ports are free loopback ports picked at the
 * first start and kept. The prometheus-operator CRDs (PrometheusRule,
 * ServiceMonitor) come from scripts/ensure-prometheus-operator-crds.sh and are
 * applied server-side, then awaited until Established.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";

const ROOT = resolve(__dirname, "..");
export const DEFAULT_CLUSTER_DIR = join(ROOT, ".local", "cluster");
export const CLUSTER_CONTEXT = "platform-databases-local";
const HOST = "127.0.0.1";

export interface LocalCluster {
  dir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  kubeconfig: string;
  etcdPort: number;
  apiserverPort: number;
}

interface State {
  etcdClientPort: number;
  etcdPeerPort: number;
  apiserverPort: number;
  controllerManagerPort: number;
  etcdPid?: number;
  apiserverPid?: number;
  controllerManagerPid?: number;
}

function log(message: string): void {
  process.stderr.write(`==> cluster: ${message}\n`);
}

/** The last stdout line of a scripts/ensure-*.sh (the path it provides). */
function ensure(script: string): string {
  const out = execFileSync(join(ROOT, "scripts", script), {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return out.trim().split("\n").pop() as string;
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, HOST, () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => ok(port));
    });
  });
}

function statePath(dir: string): string {
  return join(dir, "state.json");
}

function readState(dir: string): State | undefined {
  return existsSync(statePath(dir)) ? (JSON.parse(readFileSync(statePath(dir), "utf8")) as State) : undefined;
}

function writeState(dir: string, state: State): void {
  writeFileSync(statePath(dir), JSON.stringify(state, null, 2));
}

/** Whether `pid` is a live process of `binary` (a recycled pid of another program is not). */
function alive(pid: number | undefined, binary: string): boolean {
  if (!pid) return false;
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
    const status = readFileSync(`/proc/${pid}/stat`, "utf8");
    return argv0.endsWith(`/${binary}`) && !/^\d+ \(.*\) Z/.test(status);
  } catch {
    return false;
  }
}

export function describeCluster(dir = DEFAULT_CLUSTER_DIR): LocalCluster | undefined {
  const state = readState(dir);
  if (!state) return undefined;
  return {
    dir,
    server: `https://${HOST}:${state.apiserverPort}`,
    kubeconfig: join(dir, "kubeconfig"),
    etcdPort: state.etcdClientPort,
    apiserverPort: state.apiserverPort,
  };
}

/** openssl with `words` (split on spaces; no argument here has one) then `extra` arguments, in `cwd`. */
function openssl(cwd: string, words: string, ...extra: string[]): void {
  execFileSync("openssl", [...words.split(" "), ...extra], { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA, the API server's serving certificate, the admin's client certificate, the service-account key. */
function makePki(pki: string): void {
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

function writeKubeconfig(dir: string, server: string): void {
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

function startProcess(bin: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, "a");
  const child = spawn(bin, args, { detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  // A binary that cannot start (missing, not executable) has no pid: the caller's
  // wait then reports it exited, with its log.
  child.on("error", (err) => writeFileSync(logFile, `${bin}: ${err.message}\n`, { flag: "a" }));
  child.unref();
  return child;
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

/** Polls `check` until it returns true; fails after `timeoutMs`, or at once when `failed` says why. */
async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  failed: () => string | undefined,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = failed();
    if (why) throw new Error(`${what}: ${why}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tail(file: string, lines = 30): string {
  return existsSync(file) ? readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "";
}

/** Applies the prometheus-operator CRDs server-side and waits until each is Established. */
async function installCrds(cluster: LocalCluster): Promise<void> {
  const crdDir = ensure("ensure-prometheus-operator-crds.sh");
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

export async function start(dir = DEFAULT_CLUSTER_DIR): Promise<LocalCluster> {
  dir = resolve(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const bin = ensure("ensure-kube-control-plane.sh");
  makePki(join(dir, "pki"));
  const state: State = readState(dir) ?? {
    etcdClientPort: await freePort(),
    etcdPeerPort: await freePort(),
    apiserverPort: await freePort(),
    controllerManagerPort: await freePort(),
  };
  // A directory from before the controller manager was added.
  state.controllerManagerPort ??= await freePort();
  writeState(dir, state);
  const cluster = describeCluster(dir) as LocalCluster;
  writeKubeconfig(dir, cluster.server);
  const pki = join(dir, "pki");
  const etcdUrl = `http://${HOST}:${state.etcdClientPort}`;
  const etcdLog = join(dir, "etcd.log");
  const apiLog = join(dir, "kube-apiserver.log");

  if (!alive(state.etcdPid, "etcd")) {
    log(`starting etcd on ${etcdUrl}`);
    const peer = `http://${HOST}:${state.etcdPeerPort}`;
    const etcd = startProcess(
      join(bin, "etcd"),
      [
        "--name=local",
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=local=${peer}`,
        "--log-level=warn",
        // Test and newcomer data only: no fsync per write (much faster on a shared disk).
        "--unsafe-no-fsync",
      ],
      etcdLog,
    );
    state.etcdPid = etcd.pid;
    writeState(dir, state);
  }
  await waitFor(
    "etcd healthy",
    () =>
      fetch(`${etcdUrl}/health`).then(
        async (r) => r.ok && ((await r.json()) as { health: string }).health === "true",
      ),
    () => (alive(state.etcdPid, "etcd") ? undefined : `etcd exited:\n${tail(etcdLog)}`),
  );

  if (!alive(state.apiserverPid, "kube-apiserver")) {
    log(`starting kube-apiserver on ${cluster.server}`);
    const api = startProcess(
      join(bin, "kube-apiserver"),
      [
        `--etcd-servers=${etcdUrl}`,
        `--bind-address=${HOST}`,
        `--advertise-address=${HOST}`,
        `--secure-port=${state.apiserverPort}`,
        `--cert-dir=${join(dir, "apiserver-certs")}`,
        `--tls-cert-file=${join(pki, "apiserver.crt")}`,
        `--tls-private-key-file=${join(pki, "apiserver.key")}`,
        `--client-ca-file=${join(pki, "ca.crt")}`,
        `--service-account-key-file=${join(pki, "sa.pub")}`,
        `--service-account-signing-key-file=${join(pki, "sa.key")}`,
        "--service-account-issuer=https://kubernetes.default.svc",
        "--service-cluster-ip-range=10.96.0.0/16",
        "--authorization-mode=RBAC",
        "--anonymous-auth=false",
        "--profiling=false",
      ],
      apiLog,
    );
    state.apiserverPid = api.pid;
    writeState(dir, state);
  }
  await waitFor(
    "kube-apiserver /readyz",
    async () => (await apiRequest(cluster, "GET", "/readyz")).status === 200,
    () =>
      alive(state.apiserverPid, "kube-apiserver") ? undefined : `kube-apiserver exited:\n${tail(apiLog)}`,
  );
  log(`kube-apiserver ready; kubeconfig ${cluster.kubeconfig}`);

  const kcmLog = join(dir, "kube-controller-manager.log");
  if (!alive(state.controllerManagerPid, "kube-controller-manager")) {
    log("starting kube-controller-manager (garbage collector, namespace controller)");
    const kcm = startProcess(
      join(bin, "kube-controller-manager"),
      [
        `--kubeconfig=${cluster.kubeconfig}`,
        `--authentication-kubeconfig=${cluster.kubeconfig}`,
        `--authorization-kubeconfig=${cluster.kubeconfig}`,
        "--controllers=garbagecollector,namespace",
        "--leader-elect=false",
        "--use-service-account-credentials=false",
        `--bind-address=${HOST}`,
        `--secure-port=${state.controllerManagerPort}`,
        `--cert-dir=${join(dir, "controller-manager-certs")}`,
        "--profiling=false",
      ],
      kcmLog,
    );
    state.controllerManagerPid = kcm.pid;
    writeState(dir, state);
  }
  await waitFor(
    "kube-controller-manager /healthz",
    async () => (await selfSignedStatus(`https://${HOST}:${state.controllerManagerPort}/healthz`)) === 200,
    () =>
      alive(state.controllerManagerPid, "kube-controller-manager")
        ? undefined
        : `kube-controller-manager exited:\n${tail(kcmLog)}`,
  );
  await installCrds(cluster);
  return cluster;
}

/** The status of a GET to a loopback endpoint serving its own self-signed certificate (a health check). */
function selfSignedStatus(url: string): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 5_000 }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: timed out`)));
    req.on("error", fail);
    req.end();
  });
}

async function stopPid(name: string, pid: number | undefined): Promise<void> {
  if (!alive(pid, name)) return;
  log(`stopping ${name} (pid ${pid})`);
  process.kill(pid as number, "SIGTERM");
  await waitFor(
    `${name} stopped`,
    async () => !alive(pid, name),
    () => undefined,
    60_000,
  );
}

export async function stop(dir = DEFAULT_CLUSTER_DIR, reset = false): Promise<void> {
  dir = resolve(dir);
  const state = readState(dir);
  if (state) {
    await stopPid("kube-controller-manager", state.controllerManagerPid);
    await stopPid("kube-apiserver", state.apiserverPid);
    await stopPid("etcd", state.etcdPid);
    delete state.controllerManagerPid;
    delete state.apiserverPid;
    delete state.etcdPid;
    if (!reset) writeState(dir, state);
  }
  if (reset) rmSync(dir, { recursive: true, force: true });
}

export function running(dir = DEFAULT_CLUSTER_DIR): boolean {
  const state = readState(resolve(dir));
  return (
    alive(state?.apiserverPid, "kube-apiserver") &&
    alive(state?.etcdPid, "etcd") &&
    alive(state?.controllerManagerPid, "kube-controller-manager")
  );
}

/** Creates `name` unless it exists. */
export async function ensureNamespace(cluster: LocalCluster, name: string): Promise<void> {
  const res = await apiRequest(
    cluster,
    "POST",
    "/api/v1/namespaces",
    JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } }),
  );
  if (res.status >= 300 && res.status !== 409)
    throw new Error(`creating namespace ${name}: HTTP ${res.status}: ${res.body}`);
}

/**
 * The committed Pulumi.<stack>.yaml with the cluster keys set for the local
 * cluster, written beside the stack's other local files; returns its path.
 */
export async function writeStackConfig(
  stack: string,
  namespace = "databases",
  dir = DEFAULT_CLUSTER_DIR,
): Promise<string> {
  const cluster = describeCluster(resolve(dir));
  if (!cluster || !running(dir)) throw new Error("the local cluster is not running: make cluster-up");
  await ensureNamespace(cluster, namespace);
  const committed = join(ROOT, `Pulumi.${stack}.yaml`);
  const doc = (existsSync(committed) ? parse(readFileSync(committed, "utf8")) : null) ?? {};
  doc.config = {
    ...(doc.config ?? {}),
    "platform-databases:kubernetes": true,
    "platform-databases:namespace": namespace,
    "platform-databases:kubeconfig": cluster.kubeconfig,
  };
  const out = join(ROOT, ".local", stack, `Pulumi.${stack}.cluster.yaml`);
  mkdirSync(join(ROOT, ".local", stack), { recursive: true });
  writeFileSync(out, stringify(doc));
  return out;
}

async function main(): Promise<void> {
  const [command, dir = DEFAULT_CLUSTER_DIR] = process.argv.slice(2);
  switch (command) {
    case "stack-config": {
      const [, stack, namespace] = process.argv.slice(2);
      if (!stack) throw new Error("usage: local-cluster.ts stack-config <stack> [namespace]");
      console.log(await writeStackConfig(stack, namespace));
      return;
    }
    case "start":
      await start(dir);
      return;
    case "stop":
      await stop(dir);
      return;
    case "reset":
      await stop(dir, true);
      return;
    case "status": {
      const up = running(dir);
      const c = describeCluster(resolve(dir));
      console.log(up && c ? `running: ${c.server} (kubeconfig ${c.kubeconfig})` : "stopped");
      process.exit(up ? 0 : 1);
    }
    // falls through (process.exit does not return)
    default:
      console.error(
        "usage: local-cluster.ts start|stop|reset|status [dir] | stack-config <stack> [namespace]",
      );
      process.exit(2);
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`error: ${err.message}`);
    process.exit(1);
  });
}

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
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { apiRequest, installCrds, LocalCluster } from "./lib/cluster-api";
import { makePki, writeKubeconfig } from "./lib/cluster-pki";
import { alive, ensureRunning, selfSignedStatus, waitFor } from "./lib/cluster-processes";

export { apiRequest, LocalCluster } from "./lib/cluster-api";
export { CLUSTER_CONTEXT } from "./lib/cluster-pki";

const ROOT = resolve(__dirname, "..");
export const DEFAULT_CLUSTER_DIR = join(ROOT, ".local", "cluster");
const HOST = "127.0.0.1";

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

  const save = (key: "etcdPid" | "apiserverPid" | "controllerManagerPid") => (pid: number | undefined) => {
    state[key] = pid;
    writeState(dir, state);
  };
  const peer = `http://${HOST}:${state.etcdPeerPort}`;
  await ensureRunning(
    bin,
    {
      binary: "etcd",
      args: [
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
      logFile: join(dir, "etcd.log"),
      starting: `starting etcd on ${etcdUrl}`,
      ready: {
        what: "etcd healthy",
        check: () =>
          fetch(`${etcdUrl}/health`).then(
            async (r) => r.ok && ((await r.json()) as { health: string }).health === "true",
          ),
      },
    },
    state.etcdPid,
    save("etcdPid"),
    log,
  );

  await ensureRunning(
    bin,
    {
      binary: "kube-apiserver",
      args: [
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
      logFile: join(dir, "kube-apiserver.log"),
      starting: `starting kube-apiserver on ${cluster.server}`,
      ready: {
        what: "kube-apiserver /readyz",
        check: async () => (await apiRequest(cluster, "GET", "/readyz")).status === 200,
      },
    },
    state.apiserverPid,
    save("apiserverPid"),
    log,
  );
  log(`kube-apiserver ready; kubeconfig ${cluster.kubeconfig}`);

  await ensureRunning(
    bin,
    {
      binary: "kube-controller-manager",
      args: [
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
      logFile: join(dir, "kube-controller-manager.log"),
      starting: "starting kube-controller-manager (garbage collector, namespace controller)",
      ready: {
        what: "kube-controller-manager /healthz",
        check: async () =>
          (await selfSignedStatus(`https://${HOST}:${state.controllerManagerPort}/healthz`)) === 200,
      },
    },
    state.controllerManagerPid,
    save("controllerManagerPid"),
    log,
  );
  await installCrds(cluster, ensure("ensure-prometheus-operator-crds.sh"), log);
  return cluster;
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

/**
 * A small client of the local control plane (scripts/local-cluster.ts) for
 * the cluster tests: JSON reads and writes as the cluster's admin, a
 * namespace's objects by kind, and a Secret's decoded data.
 */
import { apiRequest, LocalCluster } from "../../scripts/local-cluster";

/** Where each kind the program creates is listed in a namespace. */
export const KIND_PATHS = {
  Secret: "/api/v1/namespaces/{ns}/secrets",
  CronJob: "/apis/batch/v1/namespaces/{ns}/cronjobs",
  PrometheusRule: "/apis/monitoring.coreos.com/v1/namespaces/{ns}/prometheusrules",
  ServiceMonitor: "/apis/monitoring.coreos.com/v1/namespaces/{ns}/servicemonitors",
  Deployment: "/apis/apps/v1/namespaces/{ns}/deployments",
  Service: "/api/v1/namespaces/{ns}/services",
  ConfigMap: "/api/v1/namespaces/{ns}/configmaps",
  ServiceAccount: "/api/v1/namespaces/{ns}/serviceaccounts",
} as const;
export type Kind = keyof typeof KIND_PATHS;

export interface KubeObject {
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
  [key: string]: unknown;
}

export class Kube {
  constructor(readonly cluster: LocalCluster) {}

  /** A request whose status must be below 300; the parsed body. */
  async call<T = KubeObject>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const res = await apiRequest(
      this.cluster,
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      contentType,
    );
    if (res.status >= 300) throw new KubeError(method, path, res.status, res.body);
    return JSON.parse(res.body) as T;
  }

  /** The HTTP status and body of a request, whatever the status. */
  async try(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
    return apiRequest(this.cluster, method, path, body === undefined ? undefined : JSON.stringify(body));
  }

  path(kind: Kind, namespace: string, name?: string): string {
    const base = KIND_PATHS[kind].replace("{ns}", namespace);
    return name === undefined ? base : `${base}/${name}`;
  }

  get<T = KubeObject>(kind: Kind, namespace: string, name: string): Promise<T> {
    return this.call<T>("GET", this.path(kind, namespace, name));
  }

  /** Names of a kind's objects in the namespace, sorted. */
  async names(kind: Kind, namespace: string): Promise<string[]> {
    const list = await this.call<{ items: KubeObject[] }>("GET", this.path(kind, namespace));
    return list.items.map((o) => o.metadata.name).sort();
  }

  /** Every kind's names in the namespace (what "the namespace as before" compares). */
  async contents(namespace: string): Promise<Record<Kind, string[]>> {
    const out = {} as Record<Kind, string[]>;
    for (const kind of Object.keys(KIND_PATHS) as Kind[]) out[kind] = await this.names(kind, namespace);
    return out;
  }

  /** A Secret's data, base64-decoded. */
  async secretData(namespace: string, name: string): Promise<Record<string, string>> {
    const secret = await this.get<{ data?: Record<string, string> }>("Secret", namespace, name);
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
  }

  async createNamespace(name: string): Promise<void> {
    await this.call("POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name },
    });
  }
}

export class KubeError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${method} ${path}: HTTP ${status}: ${body.slice(0, 2000)}`);
  }
}

/**
 * A container's `$(VAR)` references expanded as the kubelet does: a defined
 * variable is replaced, `$$(` stays a literal `$(`, an undefined one is kept.
 */
export function expandVars(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name?: string) => {
    if (match === "$$") return "$";
    return name !== undefined && name in env ? env[name] : match;
  });
}

/** A container as the API server stores it (the fields the cluster tests read). */
export interface ContainerDoc {
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: { httpGet: { path: string } };
  readinessProbe?: { httpGet: { path: string } };
}

/** A pod spec as the API server stores it. */
export interface PodSpecDoc {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  volumes?: Record<string, unknown>[];
  containers: ContainerDoc[];
}

export interface CronJobDoc extends KubeObject {
  spec: {
    schedule: string;
    timeZone?: string;
    concurrencyPolicy?: string;
    jobTemplate: { spec: { activeDeadlineSeconds?: number; template: { spec: PodSpecDoc } } };
  };
}

export interface DeploymentDoc extends KubeObject {
  status?: { readyReplicas?: number };
  spec: { template: { spec: PodSpecDoc } };
}

/**
 * What the kubelet would run for `container`: its environment resolved from
 * values and the Secrets' keys it names (each must exist), and its command
 * and arguments with `$(VAR)` expanded.
 */
export async function resolveContainer(
  kube: Kube,
  namespace: string,
  container: ContainerDoc,
): Promise<{ argv: string[]; env: Record<string, string> }> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = expandVars(e.value, env);
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const data = await kube.secretData(namespace, ref.name);
      if (!(ref.key in data)) throw new Error(`Secret ${ref.name} has no key ${ref.key}`);
      env[e.name] = data[ref.key];
    } else throw new Error(`env ${e.name}: unsupported source ${JSON.stringify(e.valueFrom)}`);
  }
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a) => expandVars(a, env));
  return { argv, env };
}

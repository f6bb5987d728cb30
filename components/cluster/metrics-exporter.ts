import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { Endpoint } from "../server/connection";
import { roleUriSecret } from "./role-uri-secret";

/**
 * The exporter's name: its Deployment, Service, ServiceMonitor and Secret. The
 * Service's name is the scrape job's (the ServiceMonitor's default), which the
 * alert DatabaseMetricsExporterAbsent names (deployments/prometheus/database-alerts.yaml).
 */
export const EXPORTER_NAME = "database-metrics";
/** Where `make metrics` listens by default, and the container port. */
export const EXPORTER_PORT = 9187;
/** The key of the exporter's Secret: scripts/check.ts MONITOR_URL_VARIABLE, read with --from-env. */
export const EXPORTER_SECRET_KEY = "DATABASE_MONITOR_URL";
/** The image's non-root user (node's `node` user in the official images). */
export const EXPORTER_UID = 1000;

export interface MetricsExporterInput {
  namespace: string;
  /** The exporter's image (deployments/exporter/Dockerfile), config key `exporterImage`. */
  image: string;
  /** ADR-0060 environment: the exporter derives the database and role names from it. */
  environment: string;
  /** The stack's services, in config order (the exporter's --services). */
  services: string[];
  /** Those whose schema the migrations manage (the exporter's --managed-schema; the image holds migrations/). */
  managedSchemaServices: string[];
}

type Objects = {
  deployment: k8s.types.input.apps.v1.Deployment;
  service: k8s.types.input.core.v1.Service;
  serviceMonitor: {
    apiVersion: string;
    kind: string;
    metadata: k8s.types.input.meta.v1.ObjectMeta;
    spec: Record<string, unknown>;
  };
};

/**
 * The exporter's Deployment, Service and ServiceMonitor (pure: the objects
 * handed to Kubernetes). The container runs `make metrics`'s server
 * (scripts/metrics.ts) with `--from-env`: the monitoring role's URI from the
 * Secret as DATABASE_MONITOR_URL. Liveness on /healthz, readiness on /readyz
 * (503 while the server cannot be read or a check fails). Locked down:
 * non-root, read-only root filesystem, no capabilities, no privilege
 * escalation, no service-account token.
 */
export function metricsExporterObjects(input: MetricsExporterInput): Objects {
  const labels = {
    "app.kubernetes.io/name": EXPORTER_NAME,
    "app.kubernetes.io/component": "database-metrics",
    "app.kubernetes.io/part-of": "platform-databases",
    "app.kubernetes.io/managed-by": "pulumi",
  };
  const selector = {
    "app.kubernetes.io/name": EXPORTER_NAME,
    "app.kubernetes.io/part-of": "platform-databases",
  };
  const metadata = { name: EXPORTER_NAME, namespace: input.namespace, labels };
  const probe = (path: string, periodSeconds: number) => ({
    httpGet: { path, port: "metrics" },
    periodSeconds,
    timeoutSeconds: 5,
    failureThreshold: 3,
  });
  return {
    deployment: {
      metadata,
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: EXPORTER_UID,
              runAsGroup: EXPORTER_UID,
              seccompProfile: { type: "RuntimeDefault" },
            },
            containers: [
              {
                name: "exporter",
                image: input.image,
                args: [
                  "--from-env",
                  "--environment",
                  input.environment,
                  "--services",
                  input.services.join(","),
                  "--managed-schema",
                  input.managedSchemaServices.join(","),
                  "--host",
                  "0.0.0.0",
                  "--port",
                  String(EXPORTER_PORT),
                ],
                env: [
                  {
                    name: EXPORTER_SECRET_KEY,
                    valueFrom: { secretKeyRef: { name: EXPORTER_NAME, key: EXPORTER_SECRET_KEY } },
                  },
                  { name: "PGAPPNAME", value: EXPORTER_NAME },
                ],
                ports: [{ name: "metrics", containerPort: EXPORTER_PORT, protocol: "TCP" }],
                livenessProbe: probe("/healthz", 20),
                readinessProbe: probe("/readyz", 30),
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
                resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "128Mi" } },
              },
            ],
          },
        },
      },
    },
    service: {
      metadata,
      spec: {
        selector,
        ports: [{ name: "metrics", port: EXPORTER_PORT, targetPort: "metrics", protocol: "TCP" }],
      },
    },
    serviceMonitor: {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata,
      spec: {
        selector: { matchLabels: selector },
        namespaceSelector: { matchNames: [input.namespace] },
        endpoints: [{ port: "metrics", path: "/metrics", interval: "60s", scrapeTimeout: "30s" }],
      },
    },
  };
}

export interface MetricsExporterArgs extends MetricsExporterInput {
  /** The monitoring role (observability/monitoring-role.ts). */
  roleName: pulumi.Input<string>;
  /** Its password, a Pulumi secret. */
  password: pulumi.Input<string>;
  /** The database it connects to first (any service's; it reads the others from there). */
  database: pulumi.Input<string>;
  /** Host, port and sslmode the exporter's pod connects with. */
  endpoint: pulumi.Input<Endpoint>;
}

/**
 * The metrics exporter in the stack's cluster: a Secret with the monitoring
 * role's URI, and the Deployment, Service and ServiceMonitor of
 * metricsExporterObjects. The kubernetes provider comes from `opts`; the
 * cluster needs the Prometheus Operator's CRDs (ServiceMonitor).
 */
export class MetricsExporter extends pulumi.ComponentResource {
  /** The Deployment's name. */
  public readonly deploymentName: pulumi.Output<string>;

  constructor(name: string, args: MetricsExporterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:MetricsExporter", name, {}, opts);
    const objects = metricsExporterObjects(args);
    const secret = roleUriSecret(this, name, {
      name: EXPORTER_NAME,
      namespace: args.namespace,
      component: "database-metrics-credentials",
      key: EXPORTER_SECRET_KEY,
      roleName: args.roleName,
      password: args.password,
      database: args.database,
      endpoint: args.endpoint,
    });
    // No pod runs where nothing schedules one (the local control plane has no
    // kubelet): the provider must not wait for the rollout there or anywhere.
    const noWait = { "pulumi.com/skipAwait": "true" };
    const deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        ...objects.deployment,
        metadata: { ...objects.deployment.metadata, annotations: noWait },
      },
      { parent: this, dependsOn: [secret], deleteBeforeReplace: true },
    );
    new k8s.core.v1.Service(
      `${name}-service`,
      { ...objects.service, metadata: { ...objects.service.metadata, annotations: noWait } },
      { parent: this, deleteBeforeReplace: true },
    );
    new k8s.apiextensions.CustomResource(`${name}-servicemonitor`, objects.serviceMonitor, {
      parent: this,
      deleteBeforeReplace: true,
    });
    this.deploymentName = deployment.metadata.name;
    this.registerOutputs({ deploymentName: this.deploymentName });
  }
}

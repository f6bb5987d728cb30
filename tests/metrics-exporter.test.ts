/**
 * The metrics exporter in the cluster: its objects (locked down, probes, the
 * monitoring role's URI from a Secret), its wiring in the program (only with
 * `exporterImage`, `kubernetes` and `monitoring`), the config key, the alert
 * that names its Service, and the image's bundle: the Dockerfile's own esbuild
 * command, run here, gives a file that serves /healthz and /metrics from a
 * directory laid out like the image's /app (the image itself is not built:
 * no Docker engine here). The objects on a real
 * API server: tests/e2e/60-cluster.test.ts.
 */
import { spawn } from "node:child_process";
import { cpSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  EXPORTER_NAME,
  EXPORTER_PORT,
  EXPORTER_SECRET_KEY,
  metricsExporterObjects,
} from "../components/cluster/metrics-exporter";
import { ConfigError, parseStackConfig } from "../components/config/stack-config";
import { MONITOR_URL_VARIABLE } from "../scripts/check";
import { resource, runProgram } from "./helpers/run-program";
import { startTestServer, TestServer } from "./helpers/pg-server";
import { bundleFromDockerfile } from "./helpers/image-bundle";

const ROOT = resolve(__dirname, "..");
const IMAGE = "example/platform-databases-exporter:1.0.0";
/** The objects as the API server receives them (plain JSON: the Input types are for Pulumi). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const objects: any = JSON.parse(
  JSON.stringify(
    metricsExporterObjects({
      namespace: "databases",
      image: IMAGE,
      environment: "test",
      services: ["gdpr", "openfga", "keycloak", "billing"],
      managedSchemaServices: ["gdpr", "billing"],
    }),
  ),
);
const pod = objects.deployment.spec.template.spec;
const container = pod.containers[0];

describe("metricsExporterObjects", () => {
  it("runs the exporter non-root, read-only, without capabilities or a service-account token", () => {
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(container.image).toBe(IMAGE);
  });

  it("reads the monitoring role's URI from its Secret (--from-env) and probes /healthz and /readyz", () => {
    expect(EXPORTER_SECRET_KEY).toBe(MONITOR_URL_VARIABLE);
    expect(container.env).toContainEqual({
      name: MONITOR_URL_VARIABLE,
      valueFrom: { secretKeyRef: { name: EXPORTER_NAME, key: MONITOR_URL_VARIABLE } },
    });
    expect(container.args).toEqual([
      "--from-env",
      "--environment",
      "test",
      "--services",
      "gdpr,openfga,keycloak,billing",
      "--managed-schema",
      "gdpr,billing",
      "--host",
      "0.0.0.0",
      "--port",
      String(EXPORTER_PORT),
    ]);
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "metrics" });
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "metrics" });
  });

  it("the Service and ServiceMonitor select the pods; the alert's job is the Service's name", () => {
    const podLabels = objects.deployment.spec.template.metadata.labels as Record<string, string>;
    const selects = (selector: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    expect(selects(objects.service.spec.selector as Record<string, string>)).toBe(true);
    const monitor = objects.serviceMonitor.spec as { selector: { matchLabels: Record<string, string> } };
    const serviceLabels = objects.service.metadata.labels as Record<string, string>;
    expect(Object.entries(monitor.selector.matchLabels).every(([k, v]) => serviceLabels[k] === v)).toBe(true);
    expect(objects.service.metadata.name).toBe(EXPORTER_NAME);
    const alerts = parse(readFileSync(join(ROOT, "deployments/prometheus/database-alerts.yaml"), "utf8"));
    const absent = alerts.spec.groups
      .flatMap((g: { rules: { alert?: string; expr: string }[] }) => g.rules)
      .find((r: { alert?: string }) => r.alert === "DatabaseMetricsExporterAbsent");
    expect(absent.expr).toBe(`absent(database_checks_up{job="${EXPORTER_NAME}"})`);
  });
});

describe("exporterImage", () => {
  const base = { environment: "test", kubernetes: "true", namespace: "databases" };

  it("is refused without kubernetes or without monitoring, and when it is not an image reference", () => {
    const problems = (raw: Record<string, string>) => {
      try {
        parseStackConfig(raw);
        return "";
      } catch (err) {
        return (err as ConfigError).message;
      }
    };
    expect(parseStackConfig({ ...base, exporterImage: IMAGE }).exporterImage).toBe(IMAGE);
    expect(problems({ environment: "test", exporterImage: IMAGE })).toContain("exporterImage");
    expect(problems({ ...base, monitoring: "false", exporterImage: IMAGE })).toMatch(
      /exporterImage.*monitoring is false/,
    );
    expect(problems({ ...base, exporterImage: "not an image" })).toMatch(
      /exporterImage.*not an image reference/,
    );
  });

  it("in the program: the exporter's Deployment, Service, ServiceMonitor and Secret only when set", async () => {
    const cluster = { port: "55433", ...base };
    const run = await runProgram({ ...cluster, exporterImage: IMAGE }, "test");
    const deployment = resource(run, "kubernetes:apps/v1:Deployment");
    expect(deployment.inputs.metadata).toMatchObject({ name: EXPORTER_NAME, namespace: "databases" });
    resource(run, "kubernetes:core/v1:Service");
    const monitor = resource(run, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
    expect(monitor.inputs.kind).toBe("ServiceMonitor");
    const secret = run.resources.find(
      (r) =>
        r.type === "kubernetes:core/v1:Secret" &&
        (r.inputs.metadata as { name: string }).name === EXPORTER_NAME,
    );
    expect(secret, "the database-metrics Secret").toBeDefined();

    const without = await runProgram(cluster, "test");
    for (const type of [
      "kubernetes:apps/v1:Deployment",
      "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
    ])
      expect(without.resources.filter((r) => r.type === type)).toEqual([]);
  });
});

describe("the exporter image's bundle (deployments/exporter/Dockerfile's esbuild command)", () => {
  let dir: string | undefined;
  let server: TestServer | undefined;
  afterAll(() => {
    server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("serves /healthz, /metrics and /readyz from a directory laid out as the image's /app", async () => {
    const image = bundleFromDockerfile("deployments/exporter/Dockerfile");
    dir = image.dir;
    const dockerfile = image.dockerfile;
    expect(dockerfile).toContain("COPY migrations ./migrations");
    cpSync(join(ROOT, "migrations"), join(dir, "app", "migrations"), { recursive: true });

    server = await startTestServer();
    // The checker reads the service databases (empty here: every check fails, but it can read).
    const su = await server.client();
    for (const db of ["gdpr_test", "openfga_test", "keycloak_test"]) await su.query(`CREATE DATABASE ${db}`);
    await su.end();
    const child = spawn(
      "node",
      [join(dir, "app/scripts/metrics.js"), "--from-env", "--environment", "test", "--port", "0"],
      { cwd: "/", env: { PATH: process.env.PATH, [MONITOR_URL_VARIABLE]: server.url() }, stdio: "pipe" },
    );
    try {
      let err = "";
      const url = await new Promise<string>((ok, fail) => {
        child.stderr.on("data", (d: Buffer) => {
          err += d.toString();
          const m = /on (http:\/\/[\d.]+:\d+)\/metrics/.exec(err);
          if (m) ok(m[1]);
        });
        child.on("exit", (code) => fail(new Error(`the bundle exited ${code}: ${err}`)));
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics, err).toMatch(/^database_checks_up 1$/m);
      // Empty databases (no roles, no tables): not ready.
      expect((await fetch(`${url}/readyz`)).status).toBe(503);
    } finally {
      child.kill();
    }
  });
});

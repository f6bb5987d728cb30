/**
 * The application's env patch and the post-render step
 * (components/cluster/application-env.ts), on hand-written manifests; the
 * same through the real helm is tests/helm-template.test.ts.
 */
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parse } from "yaml";
import {
  applicationEnv,
  applicationEnvPatch,
  applyApplicationEnv,
  readApplicationEnvPatch,
} from "../components/cluster/application-env";
import { renderHelmValues } from "../components/cluster/helm-values";
import { applicationEnvYaml } from "../scripts/helm-values";
import { helmInput } from "./helpers/helm-input";
import { appDeployment, containersOf } from "./helpers/rendered-chart";

/** The test stack's values for `services`, on a server at 10.0.0.5. */
const values = (services: string[]) =>
  renderHelmValues(helmInput("test", { host: "10.0.0.5" }, { services }));

const CONFIGMAP = `# Source: chart/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: mcp-config
data:
  mode: 0755   # YAML 1.1 octal, left as written
  enabled: yes
`;

/** The chart's Deployment with `env` after the application's image. */
const deployment = (env: string) => appDeployment({ appEnv: env });

const OTHER = `# Source: chart/charts/keycloak/templates/statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: mcp-keycloak
spec:
  template:
    spec:
      containers:
        - name: mcp-server-langgraph
          image: not-a-deployment
`;

const stream = (...docs: string[]) => docs.map((d) => `---\n${d}`).join("");

const patch = applicationEnvPatch(values(["gdpr", "openfga", "keycloak"]));
const URL_VAR = {
  name: "GDPR_POSTGRES_URL",
  valueFrom: { secretKeyRef: { name: "gdpr-test-database", key: "GDPR_POSTGRES_URL" } },
};

describe("the patch", () => {
  it("sets the storage backend and takes the URL from the gdpr Secret by reference", () => {
    expect(patch.spec.template.spec.containers).toEqual([
      {
        name: "mcp-server-langgraph",
        env: [{ name: "GDPR_STORAGE_BACKEND", value: "postgres" }, URL_VAR],
      },
    ]);
  });

  it("is empty without a gdpr service", () => {
    expect(applicationEnv(values(["openfga"]))).toEqual([]);
  });

  it("is the file make helm-values writes, and reads back as it was written", () => {
    const text = applicationEnvYaml("test", {
      environment: "test",
      databaseNames: {},
      roles: {},
      connection: { host: "10.0.0.5", port: 5432, sslmode: "disable" },
      connectionUris: "[secret]",
      helmValues: values(["gdpr"]),
    });
    expect(readApplicationEnvPatch(parse(text))).toEqual(applicationEnvPatch(values(["gdpr"])));
  });

  it.each<[string, unknown, string]>([
    ["a ConfigMap", { apiVersion: "v1", kind: "ConfigMap" }, "f: is not an apps/v1 Deployment patch"],
    [
      "no container",
      { ...patch, spec: { template: { spec: { containers: [] } } } },
      "f: must patch the application's container and at most its proxy sidecar",
    ],
    [
      "three containers",
      {
        ...patch,
        spec: {
          template: {
            spec: {
              containers: [
                { name: "a", env: [] },
                { name: "cloud-sql-proxy", args: ["--auto-iam-authn"] },
                { name: "c", env: [] },
              ],
            },
          },
        },
      },
      "f: must patch the application's container and at most its proxy sidecar",
    ],
    [
      "a second container with env, not the proxy's args",
      {
        ...patch,
        spec: {
          template: {
            spec: {
              containers: [
                { name: "a", env: [] },
                { name: "b", env: [] },
              ],
            },
          },
        },
      },
      'f: the second container must be cloud-sql-proxy, not "b"',
    ],
    [
      "a URL written as a value and a reference",
      {
        ...patch,
        spec: {
          template: {
            spec: { containers: [{ name: "a", env: [{ ...URL_VAR, value: "postgresql://u:p@h/d" }] }] },
          },
        },
      },
      "f: container a: env[0] (GDPR_POSTGRES_URL) must have either a value or a valueFrom.secretKeyRef",
    ],
  ])("a patch file with %s is refused", (_what, raw, message) => {
    expect(() => readApplicationEnvPatch(raw, "f")).toThrow(message);
  });
});

describe("applyApplicationEnv", () => {
  it("appends the variables to the application's container, and only there", () => {
    const out = applyApplicationEnv(stream(CONFIGMAP, deployment(""), OTHER), patch);
    const [app, proxy] = containersOf(out);
    expect(app.env).toEqual([{ name: "GDPR_STORAGE_BACKEND", value: "postgres" }, URL_VAR]);
    expect(proxy.env).toBeUndefined();
    expect(containersOf(out, "StatefulSet")[0].env).toBeUndefined();
  });

  it("keeps the container's other variables and replaces one of the same name", () => {
    const env = `
          env:
            - name: LOG_LEVEL
              value: INFO
            - name: GDPR_STORAGE_BACKEND
              value: memory`;
    const [app] = containersOf(applyApplicationEnv(stream(deployment(env)), patch));
    expect(app.env).toEqual([
      { name: "LOG_LEVEL", value: "INFO" },
      { name: "GDPR_STORAGE_BACKEND", value: "postgres" },
      URL_VAR,
    ]);
  });

  it("leaves every other document byte for byte, and the Deployment's comment", () => {
    const input = stream(CONFIGMAP, deployment(""), OTHER);
    const out = applyApplicationEnv(input, patch);
    const parts = out.split(/^---\n/m);
    expect(parts[1]).toBe(CONFIGMAP);
    expect(parts[3]).toBe(OTHER);
    expect(parts[2]).toMatch(/^# Source: chart\/templates\/deployment\.yaml\n/);
    expect(applyApplicationEnv(out, patch)).toBe(out); // applying twice changes nothing
  });

  it("rewrites the Deployment without changing what any of its YAML 1.1 values mean", () => {
    const text = deployment("").replace(
      "spec:\n  template:",
      'spec:\n  paused: no\n  template:\n    metadata:\n      annotations:\n        mode: 0644\n        quoted: "0644"\n        flag: on',
    );
    const out = applyApplicationEnv(stream(text), patch);
    const read = (t: string) => parseAllDocuments(t, { version: "1.1" }).map((d) => d.toJS())[0];
    const before = read(text);
    const after = read(out);
    expect(after.spec.template.metadata.annotations).toEqual({ mode: 420, quoted: "0644", flag: true });
    expect(after.spec.paused).toBe(false);
    after.spec.template.spec.containers[0].env = undefined;
    before.spec.template.spec.containers[0].env = undefined;
    expect(after).toEqual(before);
  });

  it("fails when no Deployment has the container, naming it and the variables", () => {
    expect(() => applyApplicationEnv(stream(CONFIGMAP, OTHER), patch)).toThrow(
      'no Deployment in the rendered chart has a container named "mcp-server-langgraph": GDPR_STORAGE_BACKEND and GDPR_POSTGRES_URL were not set',
    );
  });

  it("changes nothing for a stack without gdpr", () => {
    const input = stream(CONFIGMAP, OTHER);
    expect(applyApplicationEnv(input, applicationEnvPatch(values(["openfga"])))).toBe(input);
  });
});

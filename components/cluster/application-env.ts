/**
 * What puts the application on its database, since its chart cannot: the
 * application chart (mcp-server-langgraph 2.8.0) renders none of
 * `postgresql.external.*` into its Deployment, `config.gdprStorageBackend`
 * only reaches a ConfigMap the Deployment does not load, and it has no
 * extra-env or envFrom value (../shared/spec/consumers.md). So alongside the
 * values the project writes a patch of the application's container, and a
 * Helm post-renderer (scripts/helm-post-render.ts) applies it to what the chart
 * rendered.
 *
 * The patch adds two variables to the container `mcp-server-langgraph`:
 * `GDPR_STORAGE_BACKEND=postgres` and `GDPR_POSTGRES_URL` from the gdpr
 * Secret (the values' `postgresql.external.existingSecret`, key
 * SECRET_KEYS.gdpr.url) by secretKeyRef: the URL, password included, stays in
 * the Secret. With Cloud SQL that URL already points at the proxy sidecar on
 * 127.0.0.1 (helm-values.ts clusterEndpoint), so the patch is the same on
 * every target.
 *
 * Pure: the patch is a function of the Helm values, and applying it is a
 * function of the rendered manifests. The patch has the shape of a
 * strategic-merge patch of a Deployment; `applyApplicationEnv` gives it
 * strategic-merge semantics for env (merged by name).
 */
import { isMap, isSeq, parseDocument, YAMLMap, YAMLSeq } from "yaml";
import { SECRET_KEYS } from "../naming";
import type { HelmValues } from "./helm-values";

/** The application's Deployment and container name in the chart (`<release>-mcp-server-langgraph`). */
export const APPLICATION_CONTAINER = "mcp-server-langgraph";

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}

/** A patch of the application's Deployment: the env its container gets. */
export interface ApplicationEnvPatch {
  apiVersion: "apps/v1";
  kind: "Deployment";
  metadata: { name: string };
  spec: { template: { spec: { containers: [{ name: string; env: EnvVar[] }] } } };
}

export class ApplicationEnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ApplicationEnvError";
  }
}

/**
 * The variables the application reads (consumers.md), from the values that
 * name its Secret; none when the stack has no gdpr service.
 */
export function applicationEnv(values: HelmValues): EnvVar[] {
  const external = values.postgresql?.external;
  if (!external) return [];
  return [
    { name: "GDPR_STORAGE_BACKEND", value: "postgres" },
    {
      name: "GDPR_POSTGRES_URL",
      valueFrom: { secretKeyRef: { name: external.existingSecret, key: SECRET_KEYS.gdpr.url } },
    },
  ];
}

/**
 * The patch for the values' stack. `metadata.name` is the Deployment's name
 * for a release named like the chart; the post-renderer matches the
 * Deployment by its container's name, so any release name works.
 */
export function applicationEnvPatch(values: HelmValues): ApplicationEnvPatch {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: APPLICATION_CONTAINER },
    spec: {
      template: { spec: { containers: [{ name: APPLICATION_CONTAINER, env: applicationEnv(values) }] } },
    },
  };
}

/** Checks that `raw` (a parsed patch file) is a patch as applicationEnvPatch writes it; returns it. */
export function readApplicationEnvPatch(raw: unknown, source = "the patch"): ApplicationEnvPatch {
  const fail = (what: string): never => {
    throw new ApplicationEnvError(`${source}: ${what}`);
  };
  const p = raw as ApplicationEnvPatch;
  if (p?.kind !== "Deployment" || p.apiVersion !== "apps/v1") fail("is not an apps/v1 Deployment patch");
  const containers = p.spec?.template?.spec?.containers;
  if (!Array.isArray(containers) || containers.length !== 1) fail("must patch exactly one container");
  const [container] = containers;
  if (typeof container.name !== "string" || container.name === "") fail("the container has no name");
  if (!Array.isArray(container.env)) fail(`container ${container.name}: env is not a list`);
  container.env.forEach((e, i) => {
    const at = `container ${container.name}: env[${i}]`;
    if (typeof e?.name !== "string" || e.name === "") fail(`${at} has no name`);
    const ref = e.valueFrom?.secretKeyRef;
    if ((e.value === undefined) === (ref === undefined)) {
      fail(`${at} (${e.name}) must have either a value or a valueFrom.secretKeyRef`);
    }
    if (ref && (typeof ref.name !== "string" || typeof ref.key !== "string")) {
      fail(`${at} (${e.name}): secretKeyRef needs a name and a key`);
    }
  });
  return p;
}

/** One document of a YAML stream, split at `---` lines (how Helm joins the manifests it renders). */
function splitDocuments(stream: string): string[] {
  return stream.split(/^---[ \t]*(?:\r?\n|$)/m);
}

/**
 * The post-render step: `manifests` (what `helm template` / `helm upgrade`
 * rendered) with the patch's env set on its container in every Deployment
 * that has it. A variable already there by the same name is replaced, the
 * others are kept; documents without the container come out byte for byte.
 * Throws when no Deployment has the container (the chart no longer looks as
 * expected: installing without the database would be worse than failing).
 */
export function applyApplicationEnv(manifests: string, patch: ApplicationEnvPatch): string {
  const [container] = patch.spec.template.spec.containers;
  if (container.env.length === 0) return manifests;
  let patched = 0;
  const out = splitDocuments(manifests).map((text, index) => {
    const doc = parseDocument(text, { version: "1.1" });
    if (doc.errors.length > 0) {
      throw new ApplicationEnvError(`rendered document ${index} is not YAML: ${doc.errors[0].message}`);
    }
    if (doc.get("kind") !== "Deployment") return text;
    const containers = doc.getIn(["spec", "template", "spec", "containers"]);
    if (!isSeq(containers)) return text;
    const target = containers.items.find((c) => isMap(c) && c.get("name") === container.name);
    if (!isMap(target)) return text;
    let env = target.get("env");
    if (!isSeq(env)) {
      env = new YAMLSeq();
      target.set("env", env);
    }
    const list = env as YAMLSeq;
    for (const variable of container.env) {
      const node = doc.createNode(variable);
      const at = list.items.findIndex((e) => isMap(e) && (e as YAMLMap).get("name") === variable.name);
      if (at >= 0) list.items[at] = node;
      else list.items.push(node);
    }
    patched++;
    return doc.toString({ lineWidth: 0 });
  });
  if (patched === 0) {
    throw new ApplicationEnvError(
      `no Deployment in the rendered chart has a container named "${container.name}": ` +
        `${container.env.map((e) => e.name).join(" and ")} were not set (has the chart changed?)`,
    );
  }
  return out.join("---\n");
}

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
 * When gdpr logs in with IAM (config iamLogins on Cloud SQL, docs/iam.md) the
 * patch also gives the chart's `cloud-sql-proxy` sidecar `--auto-iam-authn`:
 * the proxy then logs the IAM user in with the pod's service account, and the
 * URL in the Secret has no password. The chart has no value for the flag.
 * Applying it fails when the Deployment has no such sidecar.
 *
 * Pure: the patch is a function of the Helm values, and applying it is a
 * function of the rendered manifests. The patch has the shape of a
 * strategic-merge patch of a Deployment; `applyApplicationEnv` gives it
 * strategic-merge semantics for env (merged by name).
 */
import { Document, isMap, isScalar, isSeq, parseDocument, YAMLMap, YAMLSeq } from "yaml";
import { SECRET_KEYS } from "../naming";
import type { HelmValues } from "./helm-values";

/** The application's Deployment and container name in the chart (`<release>-mcp-server-langgraph`). */
export const APPLICATION_CONTAINER = "mcp-server-langgraph";
/** The Cloud SQL Auth Proxy sidecar the chart adds beside it (`postgresql.external.cloud.cloudSql`). */
export const CLOUD_SQL_PROXY_CONTAINER = "cloud-sql-proxy";
/** The proxy's (v2) flag for automatic IAM database authentication. */
export const AUTO_IAM_AUTHN = "--auto-iam-authn";

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}

/** The application's container in the patch: the env it gets. */
export interface EnvContainerPatch {
  name: string;
  env: EnvVar[];
}

/** A sidecar in the patch: flags its args get (each added unless there, before the positional args). */
export interface ArgsContainerPatch {
  name: string;
  args: string[];
}

/**
 * A patch of the application's Deployment: the env its container gets and,
 * with an IAM login, the flags of its proxy sidecar.
 */
export interface ApplicationEnvPatch {
  apiVersion: "apps/v1";
  kind: "Deployment";
  metadata: { name: string };
  spec: { template: { spec: { containers: [EnvContainerPatch] | [EnvContainerPatch, ArgsContainerPatch] } } };
}

export interface ApplicationEnvOptions {
  /**
   * gdpr's IAM login user (the stack output `iamUsers.gdpr`): the proxy
   * sidecar gets `--auto-iam-authn`. The values must name it and the proxy.
   * @default undefined (a password login)
   */
  iamUser?: string;
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
export function applicationEnvPatch(
  values: HelmValues,
  opts: ApplicationEnvOptions = {},
): ApplicationEnvPatch {
  const app: EnvContainerPatch = { name: APPLICATION_CONTAINER, env: applicationEnv(values) };
  const iam = iamProxyPatch(values, opts.iamUser);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: APPLICATION_CONTAINER },
    spec: { template: { spec: { containers: iam ? [app, iam] : [app] } } },
  };
}

/**
 * The proxy sidecar's flags for gdpr's IAM login, or undefined without one.
 * Throws when the values and the IAM login disagree: no proxy to log in
 * through, another user, or values without a password key but no IAM user.
 */
function iamProxyPatch(values: HelmValues, iamUser: string | undefined): ArgsContainerPatch | undefined {
  const external = values.postgresql?.external;
  if (iamUser === undefined) {
    if (external && external.existingSecretPasswordKey === undefined) {
      throw new ApplicationEnvError(
        `the values give gdpr no password key (an IAM login as ${JSON.stringify(external.username)}) but no ` +
          `IAM user was given (stack output iamUsers.gdpr): the proxy would not get ${AUTO_IAM_AUTHN}`,
      );
    }
    return undefined;
  }
  const as = `gdpr logs in with IAM as ${JSON.stringify(iamUser)}`;
  if (!external) throw new ApplicationEnvError(`${as}, but the values have no postgresql.external (no gdpr)`);
  if (external.username !== iamUser) {
    throw new ApplicationEnvError(
      `${as}, but the values' postgresql.external.username is ${JSON.stringify(external.username)}`,
    );
  }
  if (!external.cloud?.cloudSql?.enabled) {
    throw new ApplicationEnvError(
      `${as}, but the values give the application no Cloud SQL Auth Proxy sidecar ` +
        `(postgresql.external.cloud.cloudSql) to add ${AUTO_IAM_AUTHN} to`,
    );
  }
  return { name: CLOUD_SQL_PROXY_CONTAINER, args: [AUTO_IAM_AUTHN] };
}

/** Checks that `raw` (a parsed patch file) is a patch as applicationEnvPatch writes it; returns it. */
export function readApplicationEnvPatch(raw: unknown, source = "the patch"): ApplicationEnvPatch {
  const fail = (what: string): never => {
    throw new ApplicationEnvError(`${source}: ${what}`);
  };
  const p = raw as ApplicationEnvPatch;
  if (p?.kind !== "Deployment" || p.apiVersion !== "apps/v1") fail("is not an apps/v1 Deployment patch");
  const containers = p.spec?.template?.spec?.containers;
  if (!Array.isArray(containers) || containers.length < 1 || containers.length > 2) {
    fail("must patch the application's container and at most its proxy sidecar");
  }
  const [container, sidecar] = containers;
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
  if (sidecar !== undefined) {
    if (sidecar.name !== CLOUD_SQL_PROXY_CONTAINER) {
      fail(`the second container must be ${CLOUD_SQL_PROXY_CONTAINER}, not ${JSON.stringify(sidecar.name)}`);
    }
    const args = (sidecar as Partial<ArgsContainerPatch>).args;
    if (!Array.isArray(args) || args.length === 0 || !args.every((a) => /^--[a-z][a-z0-9-]*$/.test(a))) {
      fail(`container ${CLOUD_SQL_PROXY_CONTAINER}: args must be a list of --flags`);
    }
  }
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
 * expected: installing without the database would be worse than failing),
 * and when the patch has proxy flags but that Deployment has no proxy sidecar.
 */
export function applyApplicationEnv(manifests: string, patch: ApplicationEnvPatch): string {
  const [container, sidecar] = patch.spec.template.spec.containers;
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
    if (sidecar) addArgs(doc, containers, sidecar);
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

/**
 * Adds the sidecar patch's flags to its container's args (each unless there),
 * before the first positional argument (the proxy's instance connection name).
 * Throws when the pod has no such container.
 */
function addArgs(doc: Document, containers: YAMLSeq, sidecar: ArgsContainerPatch): void {
  const target = containers.items.find((c) => isMap(c) && c.get("name") === sidecar.name);
  if (!isMap(target)) {
    throw new ApplicationEnvError(
      `Deployment ${JSON.stringify(doc.getIn(["metadata", "name"]))} has no container named ` +
        `"${sidecar.name}" beside "${APPLICATION_CONTAINER}" to add ${sidecar.args.join(" ")} to: gdpr logs ` +
        `in with IAM through the Cloud SQL Auth Proxy (is postgresql.external.cloud.cloudSql.enabled set? ` +
        `has the chart changed?)`,
    );
  }
  let args = target.get("args");
  if (!isSeq(args)) {
    args = new YAMLSeq();
    target.set("args", args);
  }
  const list = args as YAMLSeq;
  const value = (item: unknown) => String(isScalar(item) ? item.value : item);
  for (const flag of sidecar.args) {
    if (list.items.some((item) => value(item) === flag)) continue;
    const positional = list.items.findIndex((item) => !value(item).startsWith("-"));
    const node = doc.createNode(flag);
    if (positional >= 0) list.items.splice(positional, 0, node);
    else list.items.push(node);
  }
}

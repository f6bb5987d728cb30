/**
 * `make helm-values STACK=<stack>`: writes, from the stack output `helmValues`,
 * - deployments/helm/values-<stack>.generated.yaml: the chart's values;
 * - deployments/helm/application-env-<stack>.generated.yaml: the env the
 *   application's container needs and its chart cannot set
 *   (components/cluster/application-env.ts), for the post-renderer
 *   scripts/helm-post-render.sh;
 * each with a header saying it is generated and from which stack. The output
 * holds no secret (the values name the Kubernetes Secrets), so the outputs are
 * read without --show-secrets. Values that point pods at 127.0.0.1 (a local
 * stack without `clusterHost`) get a warning, in the file and on stderr.
 *
 * For tests (and tests/e2e): `helmValuesYaml(stack, outputs)` and
 * `applicationEnvYaml(stack, outputs)` render the files from the JSON of
 * `pulumi stack output --json`, `writeHelmValues` writes both,
 * `readStackOutputs(stack)` runs scripts/pulumi.sh to get that JSON.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { Document } from "yaml";
import type { HelmValues } from "../components/cluster/helm-values";
import { applicationEnvPatch } from "../components/cluster/application-env";
import { loopbackHosts } from "../components/cluster/loopback-hosts";
import { spawnFailure } from "./lib/system-user";

export const ROOT = resolve(__dirname, "..");
export const DEFAULT_VALUES_DIR = join(ROOT, "deployments", "helm");

/** What `pulumi stack output --json` prints for this program (secrets as "[secret]" unless shown). */
export interface StackOutputs {
  environment: string;
  databaseNames: Record<string, string>;
  roles: Record<string, string>;
  connection: { host: string; port: number; sslmode: string };
  /** An object with --show-secrets, else the string "[secret]". */
  connectionUris: Record<string, string> | string;
  helmValues?: HelmValues;
  [key: string]: unknown;
}

const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function checkStack(stack: string): string {
  if (typeof stack !== "string" || !STACK_NAME.test(stack)) {
    throw new Error(`stack ${JSON.stringify(stack)} is not a stack name ([A-Za-z0-9][A-Za-z0-9_.-]*)`);
  }
  return stack;
}

/** The stack's outputs via `scripts/pulumi.sh <stack> stack output --json [--show-secrets]`. */
export function readStackOutputs(stack: string, opts: { showSecrets?: boolean } = {}): StackOutputs {
  const args = [
    checkStack(stack),
    "stack",
    "output",
    "--json",
    ...(opts.showSecrets ? ["--show-secrets"] : []),
  ];
  const res = spawnSync(join(ROOT, "scripts", "pulumi.sh"), args, {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) throw new Error(spawnFailure("scripts/pulumi.sh", args, { ...res, stdout: "" }));
  try {
    return JSON.parse(res.stdout) as StackOutputs;
  } catch {
    throw new Error(`scripts/pulumi.sh ${args.join(" ")} did not print JSON:\n${res.stdout.slice(0, 500)}`);
  }
}

/** The two files' paths, relative to the repository root. */
export function helmFileNames(stack: string): { values: string; applicationEnv: string } {
  checkStack(stack);
  return {
    values: `deployments/helm/values-${stack}.generated.yaml`,
    applicationEnv: `deployments/helm/application-env-${stack}.generated.yaml`,
  };
}

/** The one command that installs the chart with both files (run from the repository root). */
export function installCommand(stack: string): string[] {
  const files = helmFileNames(stack);
  return [
    `helm upgrade --install <release> <chart> -f ${files.values} \\`,
    `  --post-renderer scripts/helm-post-render.sh --post-renderer-args ${files.applicationEnv}`,
  ];
}

/** The stack's helmValues, checked: present, a map, and holding no secret. */
function valuesOf(stack: string, outputs: StackOutputs): HelmValues {
  checkStack(stack);
  const values = outputs.helmValues;
  if (values === undefined) {
    throw new Error(`stack "${stack}" has no helmValues output: run \`make up STACK=${stack}\` first`);
  }
  if (values === null || typeof values !== "object" || Array.isArray(values)) {
    throw new Error(`stack "${stack}": helmValues ${JSON.stringify(values)} is not a map of values`);
  }
  if (JSON.stringify(values).includes("[secret]")) {
    // A secret reached the values: never write it, even masked.
    throw new Error(`stack "${stack}": helmValues holds a secret; values files must only name Secrets`);
  }
  return values;
}

/**
 * Why pods cannot use these values as they are, or undefined: the hosts that
 * are loopback addresses, which inside a pod are the pod itself.
 */
export function loopbackWarning(stack: string, outputs: StackOutputs): string[] | undefined {
  const hosts = loopbackHosts(valuesOf(stack, outputs));
  if (hosts.length === 0) return undefined;
  return [
    `WARNING: these values point pods at a loopback address (${hosts.join(", ")}),`,
    "and so do the Secrets' URLs: inside a pod that address is the pod itself, not the server.",
    `Set clusterHost to where pods reach the server, then \`make up STACK=${stack}\` and`,
    `\`make helm-values STACK=${stack}\` again (docs/helm.md).`,
  ];
}

function header(stack: string, outputs: StackOutputs, what: string[]): string[] {
  const warning = loopbackWarning(stack, outputs);
  return [
    ` GENERATED FILE - do not edit. Written by \`make helm-values STACK=${stack}\``,
    ` from the stack output helmValues of Pulumi stack "${stack}" (platform-databases,`,
    ` environment ${outputs.environment}). Change the stack's config and regenerate.`,
    ...what.map((line) => ` ${line}`),
    " Use (from the repository root; docs/helm.md):",
    ...installCommand(stack).map((line) => `   ${line}`),
    ...(warning ? ["", ...warning.map((line) => ` ${line}`)] : []),
  ];
}

/** The values file for `stack`: a generated-file header, then `helmValues` as YAML. */
export function helmValuesYaml(stack: string, outputs: StackOutputs): string {
  const doc = new Document(valuesOf(stack, outputs));
  doc.commentBefore = header(stack, outputs, [
    "No secrets here: the values name the Kubernetes Secrets that hold the credentials",
    "(created by the stack when it configures a cluster; see docs/helm.md).",
  ]).join("\n");
  return doc.toString({ lineWidth: 0 });
}

/**
 * The stack output `iamUsers` (service → IAM login's database user; config
 * iamLogins, docs/iam.md), checked; empty for a stack deployed before it.
 */
export function iamUsersOf(outputs: StackOutputs, stack?: string): Record<string, string> {
  const users = outputs.iamUsers;
  const at = stack === undefined ? "stack output" : `stack "${stack}": output`;
  if (users === undefined || users === null) return {};
  if (typeof users !== "object" || Array.isArray(users)) {
    throw new Error(`${at} iamUsers is not a map of service to database user`);
  }
  for (const [service, user] of Object.entries(users)) {
    if (typeof user !== "string") throw new Error(`${at} iamUsers.${service} is not a database user name`);
  }
  return { ...(users as Record<string, string>) };
}

/** The application-env file for `stack`: a generated-file header, then the patch as YAML. */
export function applicationEnvYaml(stack: string, outputs: StackOutputs): string {
  const iamUser = iamUsersOf(outputs, stack).gdpr;
  const doc = new Document(applicationEnvPatch(valuesOf(stack, outputs), { iamUser }));
  doc.commentBefore = header(stack, outputs, [
    "The env the application's container needs and its chart cannot set (it reads none of",
    "postgresql.external.*): applied by the post-renderer scripts/helm-post-render.sh.",
    "No secrets here: GDPR_POSTGRES_URL comes from the Secret by secretKeyRef.",
    ...(iamUser === undefined
      ? []
      : [`gdpr logs in with IAM as ${iamUser}: the cloud-sql-proxy sidecar gets --auto-iam-authn.`]),
  ]).join("\n");
  return doc.toString({ lineWidth: 0 });
}

/** Writes both files into `dir`; returns their paths. */
export function writeHelmValues(
  stack: string,
  outputs: StackOutputs,
  dir = DEFAULT_VALUES_DIR,
): { values: string; applicationEnv: string } {
  const texts = {
    values: helmValuesYaml(stack, outputs),
    applicationEnv: applicationEnvYaml(stack, outputs),
  };
  const names = helmFileNames(stack);
  mkdirSync(dir, { recursive: true });
  const paths = {
    values: join(dir, basename(names.values)),
    applicationEnv: join(dir, basename(names.applicationEnv)),
  };
  writeFileSync(paths.values, texts.values);
  writeFileSync(paths.applicationEnv, texts.applicationEnv);
  return paths;
}

function main(): void {
  const stack = process.argv[2];
  if (!stack || process.argv.length > 3) {
    console.error("usage: helm-values.ts <stack>");
    process.exit(2);
  }
  const outputs = readStackOutputs(stack);
  const paths = writeHelmValues(stack, outputs);
  console.log(
    `wrote ${relative(ROOT, paths.values)} and ${relative(ROOT, paths.applicationEnv)} (from stack ${stack})`,
  );
  console.log(`install with:\n  ${installCommand(stack).join("\n  ")}`);
  const warning = loopbackWarning(stack, outputs);
  if (warning) console.error(warning.join("\n  "));
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}

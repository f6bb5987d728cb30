/**
 * `make helm-values STACK=<stack>`: writes the stack output `helmValues` to
 * deployments/helm/values-<stack>.generated.yaml, with a header saying it is
 * generated and from which stack. The output holds no secret (the values name
 * the Kubernetes Secrets), so the outputs are read without --show-secrets.
 *
 * For tests (and tests/e2e): `helmValuesYaml(stack, outputs)` renders the file
 * from the JSON of `pulumi stack output --json`, `writeHelmValues` writes it,
 * `readStackOutputs(stack)` runs scripts/pulumi.sh to get that JSON.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Document } from "yaml";
import type { HelmValues } from "../components/cluster/helm-values";
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

/** The values file for `stack`: a generated-file header, then `helmValues` as YAML. */
export function helmValuesYaml(stack: string, outputs: StackOutputs): string {
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
  const doc = new Document(values);
  doc.commentBefore = [
    ` GENERATED FILE - do not edit. Written by \`make helm-values STACK=${stack}\``,
    ` from the stack output helmValues of Pulumi stack "${stack}" (platform-databases,`,
    ` environment ${outputs.environment}). Change the stack's config and regenerate.`,
    " No secrets here: the values name the Kubernetes Secrets that hold the credentials",
    " (created by the stack when it configures a cluster; see docs/helm.md).",
    ` Use: helm upgrade --install <release> <chart> -f values-${stack}.generated.yaml`,
  ].join("\n");
  return doc.toString({ lineWidth: 0 });
}

/** Writes `<dir>/values-<stack>.generated.yaml`; returns its path. */
export function writeHelmValues(stack: string, outputs: StackOutputs, dir = DEFAULT_VALUES_DIR): string {
  const text = helmValuesYaml(stack, outputs);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `values-${stack}.generated.yaml`);
  writeFileSync(path, text);
  return path;
}

function main(): void {
  const stack = process.argv[2];
  if (!stack || process.argv.length > 3) {
    console.error("usage: helm-values.ts <stack>");
    process.exit(2);
  }
  const path = writeHelmValues(stack, readStackOutputs(stack));
  console.log(`wrote ${relative(ROOT, path)} (from stack ${stack})`);
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}

/**
 * Reads the stack's configuration from Pulumi and validates it with the pure
 * parser in stack-config.ts. Throws (before any resource is registered) with every
 * problem listed by key.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, parseStackConfig, StackConfig } from "./stack-config";

export interface ResolvedStackConfig extends StackConfig {
  /** The admin's password when set in config (a secret); else libpq's PGPASSWORD is used. */
  adminPassword?: pulumi.Output<string>;
  /** kubeconfig contents or path (a secret); when unset, KUBECONFIG or ~/.kube/config. */
  kubeconfig?: pulumi.Output<string>;
}

export function readStackConfig(): ResolvedStackConfig {
  const project = pulumi.getProject();
  const config = new pulumi.Config();
  const raw: Record<string, string | undefined> = {};
  for (const key of CONFIG_KEYS) raw[key] = config.get(key);
  // The parser learns only whether the admin password is set (the clouds refuse it), never its value.
  raw.adminPassword = config.getSecret("adminPassword") === undefined ? undefined : "(secret)";
  const parsed = parseStackConfig(raw, project);
  return {
    ...parsed,
    adminPassword: config.getSecret("adminPassword"),
    kubeconfig: config.getSecret("kubeconfig"),
  };
}

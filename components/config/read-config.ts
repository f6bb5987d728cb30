/**
 * Reads the stack's configuration from Pulumi and validates it with the pure
 * parser in stack-config.ts. Throws (before any resource is registered) with every
 * problem listed by key.
 */
import * as pulumi from "@pulumi/pulumi";
import { connectionBudgetProblems } from "./connection-budget";
import { readServerMaxConnections } from "./read-server-limit";
import { CONFIG_KEYS, ConfigError, parseStackConfig, StackConfig } from "./stack-config";

export interface ResolvedStackConfig extends StackConfig {
  /** The admin's password when set in config (a secret); else libpq's PGPASSWORD is used. */
  adminPassword?: pulumi.Output<string>;
  /** kubeconfig contents or path (a secret); when unset, KUBECONFIG or ~/.kube/config. */
  kubeconfig?: pulumi.Output<string>;
}

/**
 * The stack's config, validated; for a local stack also checked against its
 * server's max_connections (one query), hence async.
 */
export async function readStackConfig(): Promise<ResolvedStackConfig> {
  const project = pulumi.getProject();
  const config = new pulumi.Config();
  const raw: Record<string, string | undefined> = {};
  for (const key of CONFIG_KEYS) raw[key] = config.get(key);
  // The parser learns only whether the admin password is set (the clouds refuse it), never its value.
  raw.adminPassword = config.getSecret("adminPassword") === undefined ? undefined : "(secret)";
  const parsed = parseStackConfig(raw, project);
  await checkLocalBudget(parsed, project);
  return {
    ...parsed,
    adminPassword: config.getSecret("adminPassword"),
    kubeconfig: config.getSecret("kubeconfig"),
  };
}

/**
 * A local target without maxConnections: the budget's server check runs here,
 * against the server's own max_connections. A server that cannot be reached
 * now is only warned about: the `up` itself would fail to connect.
 */
async function checkLocalBudget(cfg: StackConfig, project: string): Promise<void> {
  if (cfg.target !== "local" || cfg.connectionBudget.maxConnections !== undefined) return;
  const where = `${cfg.host}:${cfg.port}`;
  const n = await readServerMaxConnections(
    { host: cfg.host, port: cfg.port, user: cfg.adminUser, sslmode: cfg.sslmode },
    process.env.PGPASSWORD,
  );
  if (n instanceof Error) {
    void pulumi.log.warn(
      `connection budget: max_connections of the server at ${where} not read (${n.message}); ` +
        `the roles' limits are not checked against it (set maxConnections to check them)`,
    );
    return;
  }
  cfg.connectionBudget.maxConnections = { value: n, source: `the server at ${where}` };
  const problems = connectionBudgetProblems(cfg.connectionBudget);
  if (problems.length > 0) {
    throw new ConfigError(
      project,
      problems.map((p) => `${p.key}: ${p.message}`),
    );
  }
}

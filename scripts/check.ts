/**
 * `make check STACK=<stack> [ARGS=--json]`: ADR-0060's automated validation of
 * a stack's databases, as the read-only monitoring role. Prints one row per
 * check (components/observability/health-evaluate.ts) and exits 0 only when
 * none FAILs (PENDING does not fail); 1 when a check fails; 2 when it cannot
 * run (usage, no outputs, no connection).
 *
 * Where it connects:
 * - a stack (default): the secret output `monitoringUri` of
 *   `scripts/pulumi.sh <stack> stack output --json --show-secrets`; the
 *   expectations from Pulumi.<stack>.yaml (components/config/stack-config.ts),
 *   each managed-schema service's migrations (migrations/ for gdpr,
 *   migrations/<service>/ for the others: components/schema/migration-paths.ts)
 *   and the outputs `databaseNames`, `monitoringRole` and `retentionRoles`
 *   (service → retention role; a stack deployed before it reports gdpr's as
 *   the string `retentionRole`); a service's IAM login (config iamLogins) gets
 *   an `iam-login` row;
 * - `--from-env` (a cluster, CI, a server without this repo's state):
 *   `DATABASE_MONITOR_URL` (postgresql://user:password@host:port/db?sslmode=…),
 *   else libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE; the environment
 *   from `--environment` or ENVIRONMENT (dev|test|staging|prod), else the
 *   ADR's TESTING=true → test; the services from `--services a,b` or the
 *   defaults (gdpr, openfga, keycloak); which of them have a managed schema
 *   (migrations/ or migrations/<service>/) from `--managed-schema a,b` (an
 *   empty value: none), else those of the defaults' (gdpr).
 *
 * usage: check.ts [<stack>] [--json] [--from-env] [--environment <env>] [--services <list>] [--managed-schema <list>]
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Client, ClientConfig } from "pg";
import { CheckConnectionError, collectSnapshot, Connect } from "../components/observability/health-collect";
import { allPassed, evaluate } from "../components/observability/health-evaluate";
import { backupAgeRow, BackupStatus } from "../components/observability/backup-age";
import { formatTable } from "../components/observability/health-format";
import { CheckResult, HealthSpec, healthSpec, Snapshot } from "../components/observability/health-spec";
import type { Profile } from "../components/config/stack-config";
import { DEFAULT_MANAGED_SCHEMA_SERVICES, DEFAULT_SERVICES } from "../components/config/stack-config";
import { migrationsDir } from "../components/schema/migration-paths";
import { MigrationFile, readMigrationsDir, sslOption } from "../components/schema/migration-runner";
import {
  databaseName,
  Environment,
  monitoringRoleName,
  roleNames,
  validateEnvironment,
  validateServiceList,
} from "../components/naming";
import { readStackOutputs, StackOutputs } from "./helm-values";
import { stackConfig } from "./local-server";
import { readBackupStatus } from "./backup/status";
import { withStackBuckets } from "./backup/stack-buckets";

export const ROOT = resolve(__dirname, "..");
/** The environment variable holding the monitoring role's URI in `--from-env` mode. */
export const MONITOR_URL_VARIABLE = "DATABASE_MONITOR_URL";
/** Shown in pg_stat_activity. */
export const APPLICATION_NAME = "platform-databases-check";

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface CheckOptions {
  stack?: string;
  json: boolean;
  fromEnv: boolean;
  environment?: string;
  services?: string[];
  /** `--managed-schema`: the services whose schema the migrations manage (the rest self-migrate). */
  managedSchema?: string[];
}

/** Parses check.ts's (and metrics.ts's) arguments; `extra` names flags that take a value for the caller. */
export function parseArgs(
  argv: readonly string[],
  extra: readonly string[] = [],
): CheckOptions & { extra: Record<string, string> } {
  const opts: CheckOptions & { extra: Record<string, string> } = { json: false, fromEnv: false, extra: {} };
  const valueOf = (i: number, flag: string) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") opts.json = true;
    else if (a === "--from-env") opts.fromEnv = true;
    else if (a === "--environment") opts.environment = valueOf(i++, a);
    else if (a === "--services") opts.services = valueOf(i++, a).split(",").filter(Boolean);
    else if (a === "--managed-schema") opts.managedSchema = listValue(argv, i++, a);
    else if (extra.includes(a)) opts.extra[a] = valueOf(i++, a);
    else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    else if (opts.stack === undefined) opts.stack = a;
    else throw new UsageError(`unexpected argument ${JSON.stringify(a)} (one stack at most)`);
  }
  if (!opts.fromEnv && opts.stack === undefined)
    throw new UsageError("give a stack (e.g. test) or --from-env");
  if (
    !opts.fromEnv &&
    (opts.environment !== undefined || opts.services !== undefined || opts.managedSchema !== undefined)
  ) {
    throw new UsageError(
      "--environment, --services and --managed-schema go with --from-env; a stack's come from its config",
    );
  }
  return opts;
}

/** A comma-separated list that may be empty (`--managed-schema ""`: none). */
function listValue(argv: readonly string[], i: number, flag: string): string[] {
  const v = argv[i + 1];
  if (v === undefined || v.startsWith("--"))
    throw new UsageError(`${flag} needs a value (an empty one for none)`);
  return v.split(",").filter(Boolean);
}

/** node-postgres settings from a `postgresql://` URI (sslmode as libpq spells it). */
export function clientConfigFromUri(uri: string, name = "monitoringUri"): ClientConfig {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new UsageError(`${name} is not a URI`);
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
    throw new UsageError(`${name} has scheme "${url.protocol.replace(/:$/, "")}", expected postgresql`);
  }
  return {
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : 5432,
    database: decodeURIComponent(url.pathname.replace(/^\//, "")) || undefined,
    ssl: sslOption(url.searchParams.get("sslmode") ?? undefined),
  };
}

/** What to check and how to connect. */
export interface CheckTarget {
  /** For messages: `stack test`, `from DATABASE_MONITOR_URL`. */
  label: string;
  spec: HealthSpec;
  connect: Connect;
  /** When each database's last good backup was taken (a stack's destinations); none from --from-env. */
  backups?: () => Promise<BackupStatus[]>;
}

function connector(base: ClientConfig): Connect {
  return async (database: string) => {
    const client = new Client({
      ...base,
      database,
      application_name: APPLICATION_NAME,
      connectionTimeoutMillis: 10_000,
      statement_timeout: 15_000,
    });
    client.on("error", () => undefined);
    await client.connect();
    return client;
  };
}

/** From a stack's config and outputs (secret outputs shown). */
export function targetFromStack(stack: string, outputs: StackOutputs, cfg = stackConfig(stack)): CheckTarget {
  if (outputs.environment !== undefined && outputs.environment !== cfg.environment) {
    throw new UsageError(
      `stack "${stack}": output environment is "${outputs.environment}" but Pulumi.${stack}.yaml says "${cfg.environment}": run \`make up STACK=${stack}\``,
    );
  }
  const uri = outputs.monitoringUri;
  if (uri === undefined) {
    throw new UsageError(
      `stack "${stack}" has no monitoringUri output: run \`make up STACK=${stack}\` with monitoring enabled (config platform-databases:monitoring), or use --from-env`,
    );
  }
  if (typeof uri !== "string" || uri === "[secret]") {
    throw new UsageError(`stack "${stack}": monitoringUri is hidden; read the outputs with --show-secrets`);
  }
  const spec = healthSpec(cfg.environment, cfg.services, {
    cloud: cfg.target === "local" ? undefined : cfg.target,
    monitoringRole: typeof outputs.monitoringRole === "string" ? outputs.monitoringRole : cfg.monitoringRole,
    declaredDatabases: outputs.databaseNames,
    migrations: migrationsFor(cfg.services),
    retentionRoles: retentionRolesOf(stack, outputs),
  });
  return {
    label: `stack ${stack}`,
    spec,
    connect: connector(clientConfigFromUri(uri)),
    backups: () => readBackupStatus(stack, withStackBuckets(cfg.services, outputs), ROOT),
  };
}

/**
 * Each managed-schema service's migration files, from its directory
 * (migrationsDir: migrations/ for gdpr, migrations/<service>/ for the others);
 * a missing directory gives none (its `schema-version` row then fails). A
 * self-migrating service has none.
 */
export function migrationsFor(
  services: readonly { name: string; profile: Profile }[],
  root = ROOT,
): Record<string, MigrationFile[]> {
  return Object.fromEntries(
    services
      .filter((s) => s.profile === "managed-schema")
      .map((s) => {
        const dir = migrationsDir(root, s.name);
        return [s.name, existsSync(dir) ? readMigrationsDir(dir) : []];
      }),
  );
}

/**
 * The retention roles the stack reports, by service: the output
 * `retentionRoles` (service → role, for the services whose migrations define
 * the purge function), or, from a stack deployed before it, `retentionRole`
 * (gdpr's, a string). Each is checked by a `retention-role` row.
 */
export function retentionRolesOf(stack: string, outputs: StackOutputs): Record<string, string> {
  const roles = outputs.retentionRoles;
  if (roles !== undefined && roles !== null) {
    if (typeof roles !== "object" || Array.isArray(roles)) {
      throw new UsageError(`stack "${stack}": output retentionRoles is not a map of service to role`);
    }
    for (const [service, role] of Object.entries(roles)) {
      if (typeof role !== "string") {
        throw new UsageError(`stack "${stack}": output retentionRoles.${service} is not a role name`);
      }
    }
    return { ...(roles as Record<string, string>) };
  }
  return typeof outputs.retentionRole === "string" ? { gdpr: outputs.retentionRole } : {};
}

/** The environment in --from-env mode: --environment, ENVIRONMENT, or TESTING=true → test. */
export function environmentFromEnv(flag: string | undefined, env: NodeJS.ProcessEnv): Environment {
  const raw = flag ?? env.ENVIRONMENT ?? (env.TESTING?.toLowerCase() === "true" ? "test" : undefined);
  if (raw === undefined) {
    throw new UsageError(
      "--from-env needs the environment: --environment <dev|test|staging|prod>, ENVIRONMENT, or TESTING=true",
    );
  }
  try {
    return validateEnvironment(raw);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * Services as config.ts resolves them: `managedSchema` (by default gdpr) with
 * a managed schema, the rest self-migrating.
 */
export function defaultServices(
  environment: Environment,
  names: readonly string[] = DEFAULT_SERVICES,
  managedSchema: readonly string[] = DEFAULT_MANAGED_SCHEMA_SERVICES,
) {
  return names.map((name) => {
    const managed = managedSchema.includes(name);
    const roles = roleNames(name, environment);
    return {
      name,
      database: databaseName(name, environment),
      loginRole: roles.login,
      loginUsers: roles.users,
      ownerRole: managed ? roles.owner : undefined,
      profile: managed ? ("managed-schema" as const) : ("self-migrating" as const),
    };
  });
}

/** From DATABASE_MONITOR_URL or PG* variables. */
export function targetFromEnv(opts: CheckOptions, env: NodeJS.ProcessEnv = process.env): CheckTarget {
  const environment = environmentFromEnv(opts.environment, env);
  let names: string[];
  try {
    names = validateServiceList(opts.services ?? DEFAULT_SERVICES, "--services");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const managed = opts.managedSchema ?? DEFAULT_MANAGED_SCHEMA_SERVICES.filter((s) => names.includes(s));
  const stray = managed.filter((s) => !names.includes(s));
  if (stray.length > 0) {
    throw new UsageError(
      `--managed-schema names ${stray.map((s) => JSON.stringify(s)).join(", ")}, not among the services (${names.join(", ")})`,
    );
  }
  const services = defaultServices(environment, names, managed);
  const url = env[MONITOR_URL_VARIABLE];
  // Without the URL, node-postgres reads PGHOST, PGPORT, PGUSER, PGPASSWORD itself.
  const base: ClientConfig = url
    ? clientConfigFromUri(url, MONITOR_URL_VARIABLE)
    : { ssl: sslOption(env.PGSSLMODE ?? "disable") };
  if (!url && !env.PGUSER) {
    throw new UsageError(`--from-env needs ${MONITOR_URL_VARIABLE}, or PGHOST/PGPORT/PGUSER/PGPASSWORD`);
  }
  const spec = healthSpec(environment, services, {
    monitoringRole: monitoringRoleName(environment),
    migrations: migrationsFor(services),
  });
  return { label: `from ${url ? MONITOR_URL_VARIABLE : "PG* variables"}`, spec, connect: connector(base) };
}

export function resolveTarget(opts: CheckOptions): CheckTarget {
  if (opts.fromEnv) return targetFromEnv(opts);
  const stack = opts.stack as string;
  return targetFromStack(stack, readStackOutputs(stack, { showSecrets: true }));
}

/** One run: read the server and the backups' destinations, evaluate. */
export async function runChecks(
  target: CheckTarget,
  now = new Date(),
): Promise<{ snapshot: Snapshot; results: CheckResult[]; backups: BackupStatus[] }> {
  const [snapshot, backups] = await Promise.all([
    collectSnapshot(target.spec, target.connect),
    target.backups?.() ?? Promise.resolve([]),
  ]);
  const results = [...evaluate(target.spec, snapshot), ...backups.map((b) => backupAgeRow(b, now))];
  return { snapshot, results, backups };
}

/** The `--json` document. */
export function jsonReport(target: CheckTarget, results: readonly CheckResult[]) {
  return {
    target: target.label,
    environment: target.spec.environment,
    ok: allPassed(results),
    counts: Object.fromEntries(
      ["PASS", "FAIL", "PENDING"].map((s) => [s, results.filter((r) => r.status === s).length]),
    ),
    results,
  };
}

async function main(): Promise<number> {
  let opts: CheckOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    console.error(
      "usage: check.ts [<stack>] [--json] [--from-env] [--environment <env>] [--services <list>]",
    );
    return 2;
  }
  const target = resolveTarget(opts);
  const { results } = await runChecks(target);
  if (opts.json) process.stdout.write(JSON.stringify(jsonReport(target, results), null, 2) + "\n");
  else
    process.stdout.write(
      `${target.label}, environment ${target.spec.environment}\n\n${formatTable(results)}`,
    );
  return allPassed(results) ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: Error) => {
      const kind = err instanceof CheckConnectionError || err instanceof UsageError ? "" : `${err.name}: `;
      console.error(`error: ${kind}${err.message}`);
      process.exit(2);
    },
  );
}

/**
 * Runs a service's retention purge (purge_expired_data(), migrations/README.md)
 * once, as its retention role: the least-privileged way, the same call the
 * CronJob makes in a cluster (components/cluster/retention-cronjob.ts).
 *
 *   make purge STACK=test                 gdpr's purge; prints the rows removed per table
 *   make purge STACK=test SERVICE=billing another service whose migrations define one
 *   make purge STACK=test ARGS=--json
 *   tsx scripts/purge.ts <stack> [--service S] [--json]
 *   tsx scripts/purge.ts --from-env [--json]   DATABASE_RETENTION_URL
 *
 * The role's URI comes from the stack's secret output retentionUris (by
 * service; or DATABASE_RETENTION_URL with --from-env); it is never printed.
 * Exit status: 0 done, 1 failed, 2 usage.
 */
import { Client } from "pg";
import { clientConfigFromUri, UsageError } from "./check";
import { readStackOutputs } from "./helm-values";

export interface PurgeOptions {
  stack?: string;
  /** The service whose purge runs. @default "gdpr" */
  service?: string;
  fromEnv: boolean;
  json: boolean;
}

export function parsePurgeArgs(argv: readonly string[]): PurgeOptions {
  const opts: PurgeOptions = { fromEnv: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") opts.json = true;
    else if (a === "--service") {
      const service = argv[++i];
      if (!service || service.startsWith("--")) throw new UsageError("--service needs a service name");
      opts.service = service;
    } else if (a === "--from-env") opts.fromEnv = true;
    else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    else if (opts.stack === undefined) opts.stack = a;
    else throw new UsageError(`unexpected argument ${JSON.stringify(a)} (one stack at most)`);
  }
  if (opts.fromEnv === (opts.stack !== undefined)) {
    throw new UsageError("give a stack (e.g. test) or --from-env, not both and not neither");
  }
  return opts;
}

/** The retention role's URI from the stack outputs or the environment; errors name what is missing. */
export function retentionUri(opts: PurgeOptions, env: NodeJS.ProcessEnv = process.env): string {
  if (opts.fromEnv) {
    const uri = env.DATABASE_RETENTION_URL;
    if (!uri) throw new UsageError("--from-env: DATABASE_RETENTION_URL is not set");
    return uri;
  }
  const stack = opts.stack as string;
  const service = opts.service ?? "gdpr";
  const outputs = readStackOutputs(stack, { showSecrets: true });
  const uris = outputs.retentionUris;
  if (uris === "[secret]") {
    throw new UsageError(`stack "${stack}": retentionUris is hidden; read the outputs with --show-secrets`);
  }
  const byService = typeof uris === "object" && uris !== null ? (uris as Record<string, unknown>) : {};
  const uri = byService[service];
  if (typeof uri !== "string") {
    const known = Object.keys(byService);
    throw new UsageError(
      `stack "${stack}" has no retention role for service "${service}" ` +
        (known.length > 0 ? `(it has one for: ${known.join(", ")})` : "(it has none)") +
        `: a managed-schema service gets one when its migrations define purge_expired_data(); run \`make up STACK=${stack}\``,
    );
  }
  return uri;
}

/** Calls the purge once; returns the rows removed per table. */
export async function purge(uri: string): Promise<Record<string, number>> {
  const client = new Client({
    ...clientConfigFromUri(uri, "retentionUri"),
    application_name: "make-purge",
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  try {
    const res = await client.query<{ table_name: string; rows_deleted: string }>(
      "SELECT table_name, rows_deleted FROM purge_expired_data()",
    );
    return Object.fromEntries(res.rows.map((r) => [r.table_name, Number(r.rows_deleted)]));
  } finally {
    await client.end();
  }
}

async function main(): Promise<number> {
  let opts: PurgeOptions;
  try {
    opts = parsePurgeArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`purge: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const removed = await purge(retentionUri(opts));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(removed)}\n`);
    } else {
      const width = Math.max(...Object.keys(removed).map((t) => t.length), "table".length);
      process.stdout.write(`${"table".padEnd(width)}  rows removed\n`);
      for (const [table, n] of Object.entries(removed))
        process.stdout.write(`${table.padEnd(width)}  ${n}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`purge: ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`purge: ${String(err)}\n`);
      process.exit(1);
    },
  );
}

/**
 * Runs the GDPR retention purge (purge_expired_data(), migrations/README.md)
 * once, as the stack's retention role: the least-privileged way, the same
 * call the CronJob makes in a cluster (components/retention-job.ts).
 *
 *   make purge STACK=test           print the rows removed per table
 *   make purge STACK=test ARGS=--json
 *   tsx scripts/purge.ts <stack> [--json]
 *   tsx scripts/purge.ts --from-env [--json]   DATABASE_RETENTION_URL
 *
 * The role's URI comes from the stack's secret output retentionUri (or
 * DATABASE_RETENTION_URL with --from-env); it is never printed.
 * Exit status: 0 done, 1 failed, 2 usage.
 */
import { Client } from "pg";
import { clientConfigFromUri, UsageError } from "./check";
import { readStackOutputs } from "./helm-values";

export interface PurgeOptions {
  stack?: string;
  fromEnv: boolean;
  json: boolean;
}

export function parsePurgeArgs(argv: readonly string[]): PurgeOptions {
  const opts: PurgeOptions = { fromEnv: false, json: false };
  for (const a of argv) {
    if (a === "--json") opts.json = true;
    else if (a === "--from-env") opts.fromEnv = true;
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
  const outputs = readStackOutputs(stack, { showSecrets: true });
  const uri = outputs.retentionUri;
  if (uri === undefined) {
    throw new UsageError(
      `stack "${stack}" has no retentionUri output: run \`make up STACK=${stack}\` (it needs gdpr as a managed-schema service)`,
    );
  }
  if (typeof uri !== "string" || uri === "[secret]") {
    throw new UsageError(`stack "${stack}": retentionUri is hidden; read the outputs with --show-secrets`);
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

/**
 * `make bench` (migrations part): what the migration runner costs over plain
 * psql, as medians of several runs on one throwaway embedded PostgreSQL.
 *
 *   BENCH_RUNS=5 make bench     (default 5 runs per figure)
 *   tsx scripts/bench-migrations.ts
 *
 * Figures, each run on a fresh gdpr-style database (roles as ServiceDatabase
 * makes them, a non-superuser admin):
 * - `psql -f 001`: the floor. One psql process, one transaction (-1): the
 *   admin takes the owner role, SET ROLE, platform.login_role through
 *   PGOPTIONS, the file, the role given back.
 * - `runner, apply 001`: runMigrations in this process (connect, advisory
 *   lock, version table, the file, its row, unlock).
 * - `runner, no-op`: runMigrations on a database already at the latest version.
 * Ratio = median / the psql floor's median. On a shared machine quote ratios
 * and medians only.
 */
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { readMigrationsDir, runMigrations } from "../components/schema/migration-runner";
import { spawnFailure } from "./lib/system-user";
import { startTestServer } from "../tests/helpers/pg-server";
import { createGdprDatabase, GdprDatabase } from "../tests/helpers/gdpr-database";

const ROOT = resolve(__dirname, "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PSQL = process.env.PSQL ?? "psql";
const SCHEMA = join(ROOT, "migrations", "001_gdpr_schema.sql");

function log(message: string): void {
  process.stderr.write(`==> bench-migrations: ${message}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function timed(fn: () => Promise<void> | void): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function psqlFile(db: GdprDatabase, host: string, port: number): void {
  const res = spawnSync(
    PSQL,
    [
      "-X",
      "-q",
      "-1",
      "-v",
      "ON_ERROR_STOP=1",
      // The admin keeps no membership in the owner role: it takes it for the
      // transaction (-1), as the runner does.
      "-c",
      `GRANT ${db.ownerRole} TO CURRENT_USER`,
      "-c",
      `SET ROLE ${db.ownerRole}`,
      "-c",
      "SET search_path = public",
      "-f",
      SCHEMA,
      "-c",
      "RESET ROLE",
      "-c",
      `REVOKE ${db.ownerRole} FROM CURRENT_USER`,
    ],
    {
      encoding: "utf8",
      env: {
        ...process.env,
        PGHOST: host,
        PGPORT: String(port),
        PGUSER: "platform_admin",
        PGPASSWORD: db.adminPassword,
        PGDATABASE: db.database,
        PGOPTIONS: `-c platform.login_role=${db.loginRole}`,
      },
    },
  );
  if (res.status !== 0) throw new Error(spawnFailure("psql", ["-f", "(migrations)"], res));
}

async function main(): Promise<void> {
  if (!Number.isInteger(RUNS) || RUNS < 1)
    throw new Error(`BENCH_RUNS ${JSON.stringify(process.env.BENCH_RUNS)} is not a positive integer`);
  const migrations = readMigrationsDir(join(ROOT, "migrations"));
  log(`starting a throwaway PostgreSQL; ${RUNS} runs per figure`);
  const server = await startTestServer();
  try {
    const psqlRuns: number[] = [];
    const applyRuns: number[] = [];
    const noopRuns: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const forPsql = await createGdprDatabase(server, `bench_psql_${i}`);
      psqlRuns.push(await timed(() => psqlFile(forPsql, server.host, server.port)));

      const forRunner = await createGdprDatabase(server, `bench_runner_${i}`);
      const run = () =>
        runMigrations({
          connection: forRunner.connection(),
          ownerRole: forRunner.ownerRole,
          loginRole: forRunner.loginRole,
          migrations,
        }).then((r) => {
          if (r.version !== migrations[migrations.length - 1].version)
            throw new Error(`runner stopped at ${r.version}`);
        });
      applyRuns.push(await timed(run));
      noopRuns.push(await timed(run));
      log(
        `run ${i + 1}/${RUNS}: psql ${psqlRuns[i].toFixed(0)} ms, runner ${applyRuns[i].toFixed(0)} ms, no-op ${noopRuns[i].toFixed(0)} ms`,
      );
    }
    const floor = median(psqlRuns);
    const rows: [string, number[]][] = [
      ["psql -f 001_gdpr_schema.sql (floor)", psqlRuns],
      ["runner, apply 001 (fresh database)", applyRuns],
      ["runner, no-op (already at latest)", noopRuns],
    ];
    console.log(`\nmake bench (migrations): ${RUNS} runs per figure, medians; ratio = median / psql floor`);
    console.log("| figure | median (ms) | min (ms) | max (ms) | ratio to psql |");
    console.log("|---|---:|---:|---:|---:|");
    for (const [figure, runs] of rows) {
      console.log(
        `| ${figure} | ${median(runs).toFixed(0)} | ${Math.min(...runs).toFixed(0)} | ${Math.max(...runs).toFixed(0)} | ${(median(runs) / floor).toFixed(2)} |`,
      );
    }
  } finally {
    server.stop();
  }
}

main().catch((err: Error) => {
  console.error(`bench-migrations: ${err.message}`);
  process.exit(1);
});

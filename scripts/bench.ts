/**
 * `make bench`: what the real engine costs, as medians of several runs, each
 * with its ratio to the floor (the same DDL applied by one psql script) measured
 * in the same run. On a shared machine, quote ratios and medians only.
 *
 *   BENCH_RUNS=5 make bench        (default 3 runs per figure)
 *
 * Uses a scratch stack `bench` (config in .local/bench/, port 55439) on its own
 * embedded server, so it never touches the dev or test stacks.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { parseStackConfig, ServiceConfig } from "../components/config/stack-config";
import { spawnFailure } from "./lib/system-user";
import { describeServer, start, stop } from "./local-server";

const ROOT = resolve(__dirname, "..");
const STACK = "bench";
const PORT = 55439;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DIR = join(ROOT, ".local", STACK);
const CONFIG_FILE = join(DIR, `Pulumi.${STACK}.yaml`);

function log(message: string): void {
  process.stderr.write(`==> bench: ${message}\n`);
}

function serviceNames(n: number): string[] {
  const base = ["gdpr", "openfga", "keycloak"];
  return n <= 3 ? base.slice(0, n) : [...base, ...Array.from({ length: n - 3 }, (_, i) => `svc${i + 1}`)];
}

function writeConfig(services: string[]): void {
  mkdirSync(DIR, { recursive: true });
  writeFileSync(
    CONFIG_FILE,
    stringify({
      config: {
        "platform-databases:environment": "dev",
        "platform-databases:target": "local",
        "platform-databases:port": PORT,
        "platform-databases:services": services,
        "platform-databases:monitoring": false,
      },
    }),
  );
}

function pulumi(args: string[]): void {
  const res = spawnSync(join(ROOT, "scripts/pulumi.sh"), [STACK, ...args, "--config-file", CONFIG_FILE], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) throw new Error(spawnFailure("scripts/pulumi.sh", [STACK, ...args], res));
}

function timed(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function freshServer(): Promise<void> {
  spawnSync(
    join(ROOT, "scripts/pulumi.sh"),
    [STACK, "stack", "rm", "--yes", "--force", "--preserve-config"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  stop(STACK, true);
  await start(STACK);
}

/** The same DDL the program issues, as one psql script: the floor. */
function psqlScript(services: ServiceConfig[], admin: string): string {
  const lines = ["\\set ON_ERROR_STOP 1"];
  for (const s of services) {
    lines.push(
      `CREATE ROLE ${s.loginRole} LOGIN CONNECTION LIMIT ${s.connectionLimit} PASSWORD 'bench-only';`,
    );
    const schemaOwner = s.ownerRole ?? s.loginRole;
    if (s.ownerRole) lines.push(`CREATE ROLE ${s.ownerRole} NOLOGIN NOINHERIT;`);
    lines.push(`GRANT ${schemaOwner} TO ${admin};`);
    lines.push(
      `CREATE DATABASE ${s.database} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';`,
    );
    lines.push(`REVOKE ALL ON DATABASE ${s.database} FROM PUBLIC;`);
    lines.push(`GRANT CONNECT, TEMPORARY ON DATABASE ${s.database} TO ${s.loginRole};`);
    lines.push(`\\c ${s.database}`);
    lines.push(`ALTER SCHEMA public OWNER TO ${schemaOwner};`);
    lines.push(`REVOKE ALL ON SCHEMA public FROM PUBLIC;`);
    if (s.ownerRole) lines.push(`GRANT USAGE ON SCHEMA public TO ${s.loginRole};`);
    lines.push(`\\c postgres`);
  }
  return lines.join("\n") + "\n";
}

interface Row {
  figure: string;
  services: number;
  runs: number[];
}

async function measure(n: number, rows: Row[]): Promise<void> {
  const names = serviceNames(n);
  writeConfig(names);
  const cfg = parseStackConfig({ environment: "dev", services: JSON.stringify(names) });

  const floor: number[] = [];
  const cold: number[] = [];
  const noop: number[] = [];
  const preview: number[] = [];
  const script = join(DIR, `floor-${n}.sql`);
  writeFileSync(script, psqlScript(cfg.services, cfg.adminUser));
  for (let i = 0; i < RUNS; i++) {
    log(`${n} services, run ${i + 1}/${RUNS}`);
    await freshServer();
    const server = describeServer(STACK);
    floor.push(
      timed(() => {
        const res = spawnSync(
          "psql",
          [
            "-q",
            "-h",
            server.host,
            "-p",
            String(server.port),
            "-U",
            server.adminUser,
            "-d",
            "postgres",
            "-f",
            script,
          ],
          {
            env: { ...process.env, PGPASSWORD: server.adminPassword },
            encoding: "utf8",
          },
        );
        if (res.status !== 0) throw new Error(spawnFailure("psql", ["(floor)"], res));
      }),
    );
    await freshServer();
    cold.push(timed(() => pulumi(["up", "--yes", "--skip-preview"])));
    noop.push(timed(() => pulumi(["up", "--yes", "--skip-preview"])));
    preview.push(timed(() => pulumi(["preview"])));
  }
  rows.push(
    { figure: "psql script (floor)", services: n, runs: floor },
    { figure: "cold pulumi up", services: n, runs: cold },
    { figure: "no-op pulumi up", services: n, runs: noop },
    { figure: "pulumi preview", services: n, runs: preview },
  );
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  await measure(3, rows);
  await measure(30, rows);
  stop(STACK, true);

  const floorOf = (n: number) =>
    median(rows.find((r) => r.services === n && r.figure.startsWith("psql"))!.runs);
  const three = (figure: string) => median(rows.find((r) => r.services === 3 && r.figure === figure)!.runs);
  console.log(
    `\nmake bench: ${RUNS} runs per figure, medians; ratio = median / psql floor for the same services`,
  );
  console.log("| figure | services | median (s) | ratio to floor | growth 3 → 30 |");
  console.log("|---|---:|---:|---:|---:|");
  for (const r of rows) {
    const m = median(r.runs);
    const growth = r.services === 30 ? `${(m / three(r.figure)).toFixed(1)}×` : "";
    console.log(
      `| ${r.figure} | ${r.services} | ${m.toFixed(2)} | ${(m / floorOf(r.services)).toFixed(1)}× | ${growth} |`,
    );
  }
}

main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exit(1);
});

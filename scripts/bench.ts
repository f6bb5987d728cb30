/**
 * `make bench`: what the real engine costs, as medians of several runs, next
 * to a floor and a peer measured in the same run. On a shared machine, quote
 * ratios and medians only.
 *
 *   BENCH_RUNS=5 make bench        (default 3 runs per figure)
 *   BENCH_SERVICES=3 make bench    (default 3,30)
 *
 * For each number of services N (gdpr, openfga, keycloak, svc1, …; all
 * self-migrating, no monitoring: only what ServiceDatabase creates, which the
 * floor and the peer create too; the migrations: scripts/bench-migrations.ts):
 *
 * - the floor: the same DDL as one psql script on a fresh server;
 * - pulumi, through scripts/pulumi.sh on a scratch stack `bench` (config in
 *   .local/bench/, a free port): cold `up` on a fresh server (also with checkpoints off), no-op `up`,
 *   `preview`; and `preview` / no-op `up` through the standard host's entry
 *   point (PULUMI_HOST=standard: scripts/pulumi-host.ts runs
 *   @pulumi/pulumi/cmd/run with Pulumi.yaml's runtime options);
 * - the peer: OpenTofu with the same Terraform provider our postgresql
 *   provider bridges (scripts/ensure-tofu.sh builds both from Go modules,
 *   once), tools/opentofu/bench/main.tf, on its own fresh server (stack
 *   `bench-tofu`): cold apply, no-op apply without refresh, plan (which
 *   refreshes by default) and plan without refresh. After the first cold
 *   apply and `up` the two servers' catalogs are compared.
 *
 * And, once per run, an empty Pulumi program (one output) through the same
 * wrapper: the engine's own floor.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { parseStackConfig, ServiceConfig } from "../components/config/stack-config";
import { catalog, differences, ensureTofu, tofuWork } from "./lib/bench-peer";
import { spawnFailure } from "./lib/system-user";
import { describeServer, start, stop } from "./local-server";

const ROOT = resolve(__dirname, "..");
const STACK = "bench";
const PEER = "bench-tofu";
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIZES = (process.env.BENCH_SERVICES ?? "3,30").split(",").map(Number);
const EMPTY = join(ROOT, ".local", "bench-empty");

function log(message: string): void {
  process.stderr.write(`==> bench: ${message}\n`);
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => ok(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function serviceNames(n: number): string[] {
  const base = ["gdpr", "openfga", "keycloak"];
  return n <= 3 ? base.slice(0, n) : [...base, ...Array.from({ length: n - 3 }, (_, i) => `svc${i + 1}`)];
}

/** .local/<stack>/Pulumi.<stack>.yaml: what scripts/pulumi.sh and local-server.ts read for a scratch stack. */
function writeConfig(stack: string, port: number, services: string[]): string {
  const dir = join(ROOT, ".local", stack);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `Pulumi.${stack}.yaml`);
  const config = {
    "platform-databases:environment": "dev",
    "platform-databases:target": "local",
    "platform-databases:port": port,
    "platform-databases:services": services,
    "platform-databases:managedSchemaServices": [],
    "platform-databases:monitoring": false,
  };
  writeFileSync(file, stringify({ config }));
  return file;
}

/** Runs a command; throws with its output when it fails. */
function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  const res = spawnSync(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? process.env,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) throw new Error(spawnFailure(cmd, args, res));
}

function pulumi(configFile: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
  run(join(ROOT, "scripts/pulumi.sh"), [STACK, ...args, "--config-file", configFile], {
    env: { ...process.env, ...env },
  });
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

/** A fresh server for `stack` (and no Pulumi state for it). */
async function freshServer(stack: string, services: number): Promise<void> {
  if (stack === STACK) {
    spawnSync(
      join(ROOT, "scripts/pulumi.sh"),
      [stack, "stack", "rm", "--yes", "--force", "--preserve-config"],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
  }
  stop(stack, true);
  // Room for every role's connection limit (25 each by default, 2 for each backup role) and the
  // reserved connections: the connection budget refuses less at preview.
  await start(stack, Math.max(200, services * 30 + 50));
}

/** The same DDL the program issues for self-migrating services, as one psql script: the floor. */
function psqlScript(services: ServiceConfig[], admin: string): string {
  const lines = ["\\set ON_ERROR_STOP 1"];
  for (const s of services) {
    const [a, b] = s.loginUsers;
    const role = s.loginRole;
    lines.push(
      `CREATE ROLE ${role} NOLOGIN CONNECTION LIMIT ${s.connectionLimit};`,
      `GRANT ${role} TO ${admin};`,
      ...[a, b].flatMap((user) => [
        `CREATE ROLE ${user} LOGIN CONNECTION LIMIT ${s.connectionLimit} PASSWORD 'bench-only' IN ROLE ${role};`,
        `ALTER ROLE ${user} SET role = ${role};`,
        `GRANT ${user} TO ${admin};`,
      ]),
      `CREATE ROLE ${s.backupRole} LOGIN CONNECTION LIMIT 2 PASSWORD 'bench-only';`,
      `GRANT ${s.backupRole} TO ${admin};`,
      `CREATE DATABASE ${s.database} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';`,
      `REVOKE ALL ON DATABASE ${s.database} FROM PUBLIC;`,
      `GRANT CONNECT, TEMPORARY ON DATABASE ${s.database} TO ${role};`,
      `GRANT CONNECT ON DATABASE ${s.database} TO ${s.backupRole};`,
      `\\c ${s.database}`,
      `ALTER SCHEMA public OWNER TO ${role};`,
      `REVOKE ALL ON SCHEMA public FROM PUBLIC;`,
      `GRANT USAGE ON SCHEMA public TO ${s.backupRole};`,
      `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${s.backupRole};`,
      `GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO ${s.backupRole};`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${role} IN SCHEMA public GRANT SELECT ON TABLES TO ${s.backupRole};`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${role} IN SCHEMA public GRANT SELECT ON SEQUENCES TO ${s.backupRole};`,
      `\\c postgres`,
    );
  }
  return lines.join("\n") + "\n";
}

/** .local/bench-empty: a Pulumi program with one output, run by the same scripts and runtime options. */
function emptyProject(): void {
  rmSync(EMPTY, { recursive: true, force: true });
  mkdirSync(join(EMPTY, "tools"), { recursive: true });
  for (const path of ["scripts", "tools/versions.env", "tools/pulumi", "package.json", "tsconfig.json"]) {
    cpSync(join(ROOT, path), join(EMPTY, path), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(EMPTY, "node_modules"), "dir");
  writeFileSync(
    join(EMPTY, "Pulumi.yaml"),
    stringify({
      name: "empty-floor",
      runtime: {
        name: "nodejs",
        options: { typescript: false, nodeargs: "--require ./scripts/lib/register-ts.cjs" },
      },
    }),
  );
  writeFileSync(join(EMPTY, "index.ts"), 'export const out = "x";\n');
}

type Runs = Record<string, number[]>;

async function measure(n: number, runs: Runs, tofuCache: string, withEmpty: boolean): Promise<string[]> {
  const names = serviceNames(n);
  const cfg = parseStackConfig({
    environment: "dev",
    services: JSON.stringify(names),
    managedSchemaServices: "[]",
  });
  const configFile = writeConfig(STACK, await freePort(), names);
  writeConfig(PEER, await freePort(), names);
  const script = join(ROOT, ".local", STACK, `floor-${n}.sql`);
  writeFileSync(script, psqlScript(cfg.services, cfg.adminUser));
  const add = (figure: string, t: number) => (runs[`${figure}|${n}`] ??= []).push(t);
  let catalogDiff: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    log(`${n} services, run ${i + 1}/${RUNS}`);
    if (withEmpty) {
      const empty = (args: string[]) =>
        run(join(EMPTY, "scripts/pulumi.sh"), ["floor", ...args], { cwd: EMPTY });
      add(
        "empty up",
        timed(() => empty(["up", "--yes", "--skip-preview"])),
      );
      add(
        "empty preview",
        timed(() => empty(["preview"])),
      );
    }

    await freshServer(STACK, n);
    const server = describeServer(STACK);
    const psqlArgs = ["-q", "-h", server.host, "-p", String(server.port), "-U", server.adminUser];
    const psqlEnv = { ...process.env, PGPASSWORD: server.adminPassword };
    add(
      "floor",
      timed(() => run("psql", [...psqlArgs, "-d", "postgres", "-f", script], { env: psqlEnv })),
    );

    // The same cold `up` with the engine's checkpoints off (PULUMI_SKIP_CHECKPOINTS: the state is
    // written once, at the end; unsafe for a kept stack): what saving the whole state after every
    // step costs, which grows with the square of the resource count.
    await freshServer(STACK, n);
    add(
      "cold nockpt",
      timed(() => pulumi(configFile, ["up", "--yes", "--skip-preview"], { PULUMI_SKIP_CHECKPOINTS: "true" })),
    );

    await freshServer(STACK, n);
    add(
      "cold",
      timed(() => pulumi(configFile, ["up", "--yes", "--skip-preview"])),
    );
    add(
      "noop",
      timed(() => pulumi(configFile, ["up", "--yes", "--skip-preview"])),
    );
    add(
      "preview",
      timed(() => pulumi(configFile, ["preview"])),
    );
    const standard = { PULUMI_HOST: "standard" };
    add(
      "std preview",
      timed(() => pulumi(configFile, ["preview"], standard)),
    );
    add(
      "std noop",
      timed(() => pulumi(configFile, ["up", "--yes", "--skip-preview"], standard)),
    );

    await freshServer(PEER, n);
    const peer = describeServer(PEER);
    const tofu = tofuWork(tofuCache, join(ROOT, ".local", PEER, "work"), peer, names);
    add(
      "tofu cold",
      timed(() => tofu.run(["apply", "-auto-approve"])),
    );
    add(
      "tofu noop",
      timed(() => tofu.run(["apply", "-auto-approve", "-refresh=false"])),
    );
    add(
      "tofu plan",
      timed(() => tofu.run(["plan"])),
    );
    add(
      "tofu plan norefresh",
      timed(() => tofu.run(["plan", "-refresh=false"])),
    );
    if (i === 0) {
      const dbs = cfg.services.map((s) => s.database);
      catalogDiff = differences(await catalog(server, dbs), await catalog(peer, dbs));
    }
    stop(PEER, true);
  }
  stop(STACK, true);
  return catalogDiff;
}

/** The table: each figure's median, OpenTofu's for the same work, and the ratios. */
function report(runs: Runs, catalogs: Record<number, string[]>): void {
  const m = (figure: string, n: number) => (runs[`${figure}|${n}`] ? median(runs[`${figure}|${n}`]) : NaN);
  const s = (x: number) => (Number.isNaN(x) ? "" : x.toFixed(2));
  const r = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? "" : `${(a / b).toFixed(1)}×`);
  console.log(`\nmake bench: ${RUNS} runs per figure, medians in seconds`);
  console.log("| figure | N | pulumi | OpenTofu | pulumi / OpenTofu | pulumi / floor |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const n of SIZES) {
    const floor = m("floor", n);
    const rows: [string, string, string][] = [
      ["cold up / apply", "cold", "tofu cold"],
      ["cold up without checkpoints (unsafe) / apply", "cold nockpt", "tofu cold"],
      ["no-op up / apply (neither refreshes)", "noop", "tofu noop"],
      ["preview / plan (defaults: plan refreshes)", "preview", "tofu plan"],
      ["preview / plan without refresh", "preview", "tofu plan norefresh"],
      ["standard host: preview / plan without refresh", "std preview", "tofu plan norefresh"],
      ["standard host: no-op up / apply", "std noop", "tofu noop"],
    ];
    console.log(`| psql script (floor) | ${n} | ${s(floor)} | | | 1.0× |`);
    for (const [label, ours, theirs] of rows) {
      const a = m(ours, n);
      const b = m(theirs, n);
      console.log(`| ${label} | ${n} | ${s(a)} | ${s(b)} | ${r(a, b)} | ${r(a, floor)} |`);
    }
  }
  const n0 = SIZES[0];
  const [eu, ep] = [m("empty up", n0), m("empty preview", n0)];
  console.log(`| empty program: up | | ${s(eu)} | | | |`);
  console.log(`| empty program: preview | | ${s(ep)} | | | |`);
  console.log("\nratios against the issue's goals:");
  console.log(
    `- standard-host preview / inline preview (${n0}): ${r(m("std preview", n0), m("preview", n0))}`,
  );
  console.log(`- no-op up / empty program's up (${n0}): ${r(m("noop", n0), eu)}`);
  console.log(`- preview / empty program's preview (${n0}): ${r(m("preview", n0), ep)}`);
  for (const n of SIZES) {
    const d = catalogs[n];
    console.log(
      `- catalogs after pulumi up and tofu apply, ${n} services: ${d.length === 0 ? "identical" : `DIFFER:\n  ${d.join("\n  ")}`}`,
    );
  }
}

async function main(): Promise<void> {
  const tofuCache = ensureTofu();
  emptyProject();
  // Its stack is created by a first, untimed `up`.
  run(join(EMPTY, "scripts/pulumi.sh"), ["floor", "up", "--yes", "--skip-preview"], { cwd: EMPTY });
  const runs: Runs = {};
  const catalogs: Record<number, string[]> = {};
  for (const [i, n] of SIZES.entries()) catalogs[n] = await measure(n, runs, tofuCache, i === 0);
  report(runs, catalogs);
}

main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  for (const stack of [STACK, PEER]) {
    try {
      stop(stack, true);
    } catch {
      // (not started)
    }
  }
  process.exit(1);
});

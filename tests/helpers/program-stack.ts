/**
 * A throwaway server provisioned by the program itself, for tests that read
 * what the program leaves on a server (health checks, metrics): `make up` for
 * a scratch stack, with nothing shared with the dev or test stacks.
 *
 * 1. A scratch checkout in a temp folder: a copy of what the engine runs
 *    (index.ts, components/, migrations/, scripts/, Pulumi.yaml, …) with
 *    node_modules linked. scripts/pulumi.sh keeps its state, passphrase and
 *    PULUMI_HOME under the checkout's .local/, so a scratch stack never
 *    touches this repository's .local/ nor its tree, and parallel runs never
 *    meet. A test may add a service's migrations there, as a user would.
 * 2. A throwaway embedded PostgreSQL on a free port (pg-server.ts).
 * 3. The stack's config: the committed `test` stack's, its port replaced by
 *    the server's, written as the checkout's Pulumi.<stack>.yaml.
 * 4. The server baseline of a local stack: scripts/local-server.ts `start`
 *    with PG_SUPERUSER_URL naming the throwaway server (the path `make up`
 *    takes with an external server): the admin platform_admin with CREATEDB
 *    CREATEROLE and ADMIN on pg_monitor, PUBLIC's CONNECT revoked on postgres
 *    and template1, the admin's password in .local/<stack>/admin-password.
 * 5. `scripts/pulumi.sh <stack> up` (the real engine, offline; the admin's
 *    password reaches the provider as PGPASSWORD, as for the local stacks),
 *    then the stack's outputs with their secrets.
 *
 * stop() stops the server and deletes the checkout; the stack is not destroyed.
 * About 9 s on 2 cores, 7 of them the engine's `up`. Needs the engine built
 * (`make tools`; scripts/pulumi.sh would otherwise build it, minutes).
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Client } from "pg";
import { parse, stringify } from "yaml";
import { parseStackConfig, StackConfig } from "../../components/config/stack-config";
import { migrationsDir } from "../../components/schema/migration-paths";
import { readMigrationsDir } from "../../components/schema/migration-runner";
import type { StackOutputs } from "../../scripts/helm-values";
import { startTestServer, TestServer } from "./pg-server";

const ROOT = resolve(__dirname, "..", "..");
const PROJECT = "platform-databases";

/** What `pulumi up` reads: the program, its migrations and alert rules, and the scripts that run the engine. */
const CHECKOUT = [
  "index.ts",
  "Pulumi.yaml",
  "package.json",
  "tsconfig.json",
  "components",
  "migrations",
  "deployments",
  "scripts",
  "policy",
  "tools/versions.env",
  "tools/pulumi",
  "tools/kubernetes-provider",
];

/** The repository's migrations (gdpr's, migrations/NNN_*.sql), as the program reads them. */
export const MIGRATIONS = readMigrationsDir(join(ROOT, "migrations"));

export interface ProgramStackOptions {
  /**
   * The committed stack whose config the scratch stack starts from (its port replaced).
   * @default "test"
   */
  base?: string;
  /**
   * Run an earlier version of the program: the checkout's files come from this
   * commit of the repository (`git archive`) until upgrade() puts this tree's in.
   * @default this tree
   */
  commit?: string;
  /** Config keys (without the `platform-databases:` prefix) set over the base stack's, kept by every `up`. */
  config?: Record<string, unknown>;
  /**
   * Run the first `up` before returning; with false the caller runs it (after
   * looking at the server as the program finds it), and `outputs` is unset until then.
   * @default true
   */
  up?: boolean;
  /**
   * Test-only resources added to the program: the outputs the checkout's
   * index.ts returns gain `extension: require("./<module>").<fn>(platform, cfg)`
   * (index.ts's own platform and config), and the module is copied into the
   * checkout at the same path. Its result is the stack output `extension`.
   * @default none (the program as it is)
   */
  extend?: { module: string; fn: string };
}

export interface StackChange {
  /** Config keys (without the `platform-databases:` prefix) set over the base stack's. */
  config?: Record<string, unknown>;
  /** Other services' migration files, written to migrations/<service>/ of the checkout. */
  migrations?: Record<string, readonly { name: string; sql: string }[]>;
}

/** Outputs of a stack whose monitoring is on, read with --show-secrets. */
export interface ProgramStackOutputs extends StackOutputs {
  connectionUris: Record<string, string>;
  retentionRoles: Record<string, string>;
  retentionUris: Record<string, string>;
  backupRoles: Record<string, string>;
  backupUris: Record<string, string>;
  schemaVersions: Record<string, number>;
  monitoringRole: string;
  monitoringUri: string;
}

/** Seconds each step took: starting the server, its baseline, and the last `up` and its outputs. */
export interface ProgramStackTimings {
  server: number;
  baseline: number;
  up: number;
  outputs: number;
}

export interface ProgramStack {
  /** The scratch stack's name. */
  name: string;
  /** The scratch checkout (its migrations/ is where the program reads them). */
  root: string;
  server: TestServer;
  /** The stack's config as the program parses it. */
  readonly config: StackConfig;
  /** The stack's outputs after the last `up`, secrets shown. */
  readonly outputs: ProgramStackOutputs;
  readonly timings: ProgramStackTimings;
  adminUser: string;
  adminPassword: string;
  /** Outputs' shortcuts. */
  readonly monitoringRole: string;
  readonly monitoringUri: string;
  readonly monitoringPassword: string;
  /** A client as the admin (default) or the superuser, to `database`. */
  admin(database?: string): Promise<Client>;
  superuser(database?: string): Promise<Client>;
  /**
   * `pulumi up` again with `change` (config keys, migration directories) over
   * the base config; without it, back to the base config and migrations: the
   * program removes what a change added.
   */
  up(change?: StackChange): Promise<void>;
  /** Replaces the checkout's program files with this tree's (after `commit`); runs nothing. */
  upgrade(): void;
  /** Writes `change` (config, migrations) into the checkout without running anything. */
  apply(change?: StackChange): void;
  /** Reads the stack's outputs again (secrets shown). */
  readOutputs(): Promise<ProgramStackOutputs>;
  /**
   * Starts a command of the checkout (e.g. `scripts/pulumi.sh`, `node_modules/.bin/tsx`)
   * with the checkout's environment; `done` resolves when it ends, whatever its exit.
   */
  start(command: string, args: string[], env?: Record<string, string>): Running;
  /** start(...).done */
  exec(command: string, args: string[], env?: Record<string, string>): Promise<Finished>;
  /** `scripts/pulumi.sh <stack> <args>` in the checkout, with `env` added; resolves with its stdout. */
  pulumi(args: string[], env?: Record<string, string>): Promise<string>;
  /** Stops the server and deletes the checkout. */
  stop(): void;
}

/** A command that ended: its exit code (null when killed), signal and output. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr */
  output: string;
}

export interface Running {
  child: ChildProcess;
  done: Promise<Finished>;
}

/** Starts `command` in `root`, collecting its output. */
function startIn(root: string, command: string, args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(join(root, command), args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Finished>((ok) => {
    child.on("error", (err) => {
      stderr += `${command}: ${err.message}`;
    });
    child.on("close", (code, signal) => ok({ code, signal, stdout, stderr, output: stdout + stderr }));
  });
  return { child, done };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** Runs a command of the checkout; rejects with its output when it fails. */
async function run(root: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const r = await startIn(root, command, args, env).done;
  if (r.code !== 0)
    throw new Error(`${command} ${args.join(" ")} exited ${r.code ?? r.signal}:\n${r.output}`);
  return r.stdout;
}

/** What would point scripts/pulumi.sh and local-server.ts elsewhere than the checkout's .local/. */
const SCRUBBED = [
  "PULUMI_BACKEND_URL",
  "PULUMI_HOME",
  "PULUMI_CONFIG_PASSPHRASE",
  "PULUMI_CONFIG_PASSPHRASE_FILE",
  "PG_SUPERUSER_URL",
];

/** This process's environment without SCRUBBED and libpq's PG* variables, plus `extra`. */
function scrubbedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (SCRUBBED.includes(key) || /^PG[A-Z]+$/.test(key)) delete env[key];
  }
  return { ...env, ...extra };
}

export async function startProgramStack(options: ProgramStackOptions = {}): Promise<ProgramStack> {
  const base = options.base ?? "test";
  const name = `scratch-${base}-${randomBytes(4).toString("hex")}`;
  const root = mkdtempSync(join(tmpdir(), "program-stack-"));
  let server: TestServer | undefined;
  try {
    const copyTree = () => {
      for (const path of CHECKOUT) {
        rmSync(join(root, path), { recursive: true, force: true });
        cpSync(join(ROOT, path), join(root, path), { recursive: true });
      }
    };
    if (options.commit) {
      // The paths that commit has (later ones, e.g. tools/kubernetes-provider, are not in it).
      const paths = CHECKOUT.filter(
        (path) =>
          spawnSync("git", ["cat-file", "-e", `${options.commit}:${path}`], { cwd: ROOT }).status === 0,
      );
      const archive = spawnSync("git", ["archive", "--format=tar", options.commit, ...paths], {
        cwd: ROOT,
        maxBuffer: 256 * 1024 * 1024,
      });
      if (archive.status !== 0) {
        throw new Error(`git archive ${options.commit} failed (a shallow clone?): ${archive.stderr}`);
      }
      const untar = spawnSync("tar", ["-x", "-C", root], { input: archive.stdout });
      if (untar.status !== 0) throw new Error(`tar -x failed: ${untar.stderr}`);
    } else {
      copyTree();
    }
    if (options.extend) {
      const { module, fn } = options.extend;
      mkdirSync(join(root, dirname(module)), { recursive: true });
      cpSync(join(ROOT, module), join(root, module));
      const call = `require(${JSON.stringify(`./${module.replace(/\.ts$/, "")}`)}).${fn}(platform, cfg)`;
      const program = readFileSync(join(root, "index.ts"), "utf8");
      const outputs = "\n  return {\n";
      if (!program.includes(outputs))
        throw new Error("extend: index.ts no longer returns its outputs as `return {`");
      writeFileSync(
        join(root, "index.ts"),
        program.replace(
          outputs,
          `${outputs}    // Added by tests/helpers/program-stack.ts (option extend).\n    extension: ${call},\n`,
        ),
      );
    }
    symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"), "dir");

    let t = process.hrtime.bigint();
    server = await startTestServer();
    const timings: ProgramStackTimings = { server: seconds(t), baseline: 0, up: 0, outputs: 0 };

    const baseConfig: Record<string, unknown> = {
      ...(parse(readFileSync(join(ROOT, `Pulumi.${base}.yaml`), "utf8"))?.config ?? {}),
      [`${PROJECT}:host`]: server.host,
      [`${PROJECT}:port`]: server.port,
      ...Object.fromEntries(Object.entries(options.config ?? {}).map(([k, v]) => [`${PROJECT}:${k}`, v])),
    };
    const stackFile = join(root, `Pulumi.${name}.yaml`);
    let config!: StackConfig;
    const writeConfig = (over: Record<string, unknown> = {}) => {
      const values = { ...baseConfig };
      for (const [key, value] of Object.entries(over)) values[`${PROJECT}:${key}`] = value;
      writeFileSync(stackFile, stringify({ config: values }));
      const raw: Record<string, string> = {};
      for (const [key, value] of Object.entries(values)) {
        raw[key.replace(`${PROJECT}:`, "")] = typeof value === "string" ? value : JSON.stringify(value);
      }
      config = parseStackConfig(raw);
    };
    writeConfig();

    t = process.hrtime.bigint();
    await run(
      root,
      "node_modules/.bin/tsx",
      ["scripts/local-server.ts", "start", name],
      scrubbedEnv({ PG_SUPERUSER_URL: server.url() }),
    );
    timings.baseline = seconds(t);
    const adminUser = config.adminUser;
    const adminPassword = readFileSync(join(root, ".local", name, "admin-password"), "utf8").trim();

    // scripts/pulumi.sh reads PGPASSWORD from .local/<stack>/admin-password itself.
    const env = scrubbedEnv();
    let outputs!: ProgramStackOutputs;
    const added = new Set<string>();
    const apply = (change: StackChange = {}) => {
      for (const service of added) rmSync(migrationsDir(root, service), { recursive: true, force: true });
      added.clear();
      for (const [service, files] of Object.entries(change.migrations ?? {})) {
        const dir = migrationsDir(root, service);
        mkdirSync(dir, { recursive: true });
        for (const f of files) writeFileSync(join(dir, f.name), f.sql);
        added.add(service);
      }
      writeConfig(change.config);
    };
    const readOutputs = async () => {
      const json = await run(
        root,
        "scripts/pulumi.sh",
        [name, "stack", "output", "--json", "--show-secrets"],
        env,
      );
      outputs = JSON.parse(json) as ProgramStackOutputs;
      return outputs;
    };
    const up = async (change: StackChange = {}) => {
      apply(change);
      let start = process.hrtime.bigint();
      await run(root, "scripts/pulumi.sh", [name, "up", "--yes", "--skip-preview"], env);
      timings.up = seconds(start);
      start = process.hrtime.bigint();
      await readOutputs();
      timings.outputs = seconds(start);
    };
    const startCommand = (command: string, args: string[], extra: Record<string, string> = {}) =>
      startIn(root, command, args, { ...env, ...extra });
    if (options.up !== false) await up();

    const srv = server;
    return {
      name,
      root,
      server: srv,
      get config() {
        return config;
      },
      get outputs() {
        return outputs;
      },
      timings,
      adminUser,
      adminPassword,
      get monitoringRole() {
        return outputs.monitoringRole;
      },
      get monitoringUri() {
        return outputs.monitoringUri;
      },
      get monitoringPassword() {
        return decodeURIComponent(new URL(outputs.monitoringUri).password);
      },
      admin: (database = "postgres") => srv.client(database, adminUser, adminPassword),
      superuser: (database = "postgres") => srv.client(database),
      up,
      upgrade: copyTree,
      apply,
      readOutputs,
      start: startCommand,
      exec: (command, args, extra) => startCommand(command, args, extra).done,
      pulumi: (args, extra = {}) => run(root, "scripts/pulumi.sh", [name, ...args], { ...env, ...extra }),
      stop() {
        srv.stop();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    server?.stop();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

/** Runs statements on one connection and closes it. */
export async function sql(client: Promise<Client>, ...statements: string[]): Promise<void> {
  const c = await client;
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

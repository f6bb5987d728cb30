/**
 * Shared pieces of the end-to-end suite: the real Pulumi engine (offline, via
 * scripts/pulumi.sh) on the `test` stack, against the test stack's embedded
 * PostgreSQL (scripts/local-server.ts). globalSetup.ts brings the stack up
 * once; the files run in name order (10-…, 20-…, 90-lifecycle last).
 */
import { spawn, spawnSync, SpawnSyncReturns } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Client } from "pg";
import { describeServer, stackConfig } from "../../scripts/local-server";

export const ROOT = resolve(__dirname, "../..");
export const STACK = "test";
export const OUTPUTS_FILE = join(ROOT, ".local", STACK, "outputs.json");

export interface StackOutputs {
  environment: string;
  databaseNames: Record<string, string>;
  roles: Record<string, string>;
  connection: { host: string; port: number; sslmode: string };
  connectionUris: Record<string, string>;
  [key: string]: unknown;
}

export function pulumi(args: string[], opts: { env?: Record<string, string>; allowFailure?: boolean } = {}) {
  const res: SpawnSyncReturns<string> = spawnSync(join(ROOT, "scripts/pulumi.sh"), [STACK, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...opts.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${res.stdout ?? ""}${res.stderr ?? ""}`;
  if (res.status !== 0 && !opts.allowFailure) {
    throw new Error(`pulumi ${args.join(" ")} exited ${res.status}:\n${output}`);
  }
  return { status: res.status, stdout: res.stdout ?? "", stderr: res.stderr ?? "", output };
}

/** The test stack's outputs, secrets included (written by globalSetup, rewritten by saveOutputs). */
export function outputs(): StackOutputs {
  return JSON.parse(readFileSync(OUTPUTS_FILE, "utf8")) as StackOutputs;
}

/** Writes the stack's current outputs to OUTPUTS_FILE (mode 0600): after an `up` that changes them. */
export function saveOutputs(): StackOutputs {
  const out = pulumi(["stack", "output", "--json", "--show-secrets"]);
  mkdirSync(dirname(OUTPUTS_FILE), { recursive: true });
  writeFileSync(OUTPUTS_FILE, out.stdout, { mode: 0o600 });
  return JSON.parse(out.stdout) as StackOutputs;
}

/** The environment for `make` as a user runs it: none of the calling make's variables. */
function makeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const v of ["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "ARGS", "STACK", "PORT", "SERVICE"])
    delete env[v];
  return env;
}

export interface MakeResult {
  status: number | null;
  stdout: string;
  stderr: string;
  output: string;
}

/** `make <args>` in the repository, as a user types it. */
export function make(...args: string[]): MakeResult {
  const r = spawnSync("make", ["--no-print-directory", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: makeEnv(),
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: `${r.stdout}${r.stderr}` };
}

/** make(), without blocking the event loop (the test keeps working while it runs). */
export function makeAsync(...args: string[]): Promise<MakeResult> {
  const proc = spawn("make", ["--no-print-directory", ...args], { cwd: ROOT, env: makeEnv() });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d) => (stdout += d));
  proc.stderr.on("data", (d) => (stderr += d));
  return new Promise((ok, fail) => {
    proc.on("error", fail);
    proc.on("close", (status) => ok({ status, stdout, stderr, output: `${stdout}${stderr}` }));
  });
}

export function server() {
  return describeServer(STACK);
}

export function config() {
  return stackConfig(STACK);
}

async function connect(connectionString: string): Promise<Client> {
  const client = new Client({ connectionString, connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

/** Connects as the bootstrap superuser (test inspection only). */
export function superuser(database = "postgres"): Promise<Client> {
  const url = new URL(server().superuserUrl);
  url.pathname = `/${database}`;
  return connect(url.toString());
}

/** Connects as the stack's non-superuser admin. */
export function admin(database = "postgres"): Promise<Client> {
  const s = server();
  return connect(
    `postgresql://${s.adminUser}:${encodeURIComponent(s.adminPassword)}@${s.host}:${s.port}/${database}`,
  );
}

/** Connects as a service's login role with its real credentials from the stack outputs, to `database`. */
export function asService(service: string, database?: string): Promise<Client> {
  const url = new URL(outputs().connectionUris[service]);
  if (database) url.pathname = `/${database}`;
  return connect(url.toString());
}

/** The logged-in role's (session_user's) attributes, connection limit and memberships, as pg_roles has them. */
export async function currentRoleAttributes(c: Client): Promise<Record<string, unknown>> {
  const { rows } = await c.query(
    `SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit,
            ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                   WHERE m.member = r.oid ORDER BY 1) AS member_of
       FROM pg_roles r WHERE rolname = session_user`,
  );
  return rows[0];
}

/** Runs `fn` and returns the PostgreSQL error it raised (code and message), or undefined. */
export async function pgError(
  fn: () => Promise<unknown>,
): Promise<{ code?: string; message: string } | undefined> {
  try {
    await fn();
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { code: e.code, message: e.message };
  }
}

/** Databases and roles on the server (for "changes nothing else" assertions). */
export async function catalog(): Promise<{ databases: string[]; roles: string[] }> {
  const c = await superuser();
  try {
    const dbs = await c.query("SELECT datname FROM pg_database ORDER BY 1");
    const roles = await c.query("SELECT rolname FROM pg_roles ORDER BY 1");
    return { databases: dbs.rows.map((r) => r.datname), roles: roles.rows.map((r) => r.rolname) };
  } finally {
    await c.end();
  }
}

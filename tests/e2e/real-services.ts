/**
 * The real OpenFGA and Keycloak for the e2e files: 30-services starts them on
 * the stack's first credentials and writes through their APIs;
 * 35-services-rotation restarts them on the rotated ones and reads that back.
 * Cached binaries (scripts/ensure-*.sh), loopback listeners on free ports,
 * credentials in the environment as their pods get them from their Secrets
 * (OPENFGA_DATASTORE_URI; KC_DB_USERNAME, KC_DB_PASSWORD), bounded waits,
 * each server's log under .local/test/ (printed when a wait fails).
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../helpers/pg-server";
import { ROOT, STACK, superuser } from "./harness";

export const LOGS = join(ROOT, ".local", STACK);

/** What 30-services wrote through the services' APIs, for 35-services-rotation to read back (mode 0600). */
export const RECORD_FILE = join(LOGS, "services.json");

export interface ServicesRecord {
  openfga?: {
    storeId: string;
    modelId: string;
    /** A tuple written, and a user it does not allow. */
    tuple: { user: string; relation: string; object: string };
    deniedUser: string;
  };
  keycloak?: {
    /** The bootstrap admin of the master realm, created in the database at the first start. */
    adminPassword: string;
    realm: string;
    /** The realm's id, as the admin API read it back. */
    realmId: string;
  };
}

export function readRecord(): ServicesRecord {
  if (!existsSync(RECORD_FILE)) return {};
  return JSON.parse(readFileSync(RECORD_FILE, "utf8")) as ServicesRecord;
}

/** Adds `part` to the record (30-services starts it empty). */
export function record(part: ServicesRecord): void {
  writeFileSync(RECORD_FILE, JSON.stringify({ ...readRecord(), ...part }, null, 2), { mode: 0o600 });
}

/** Runs scripts/ensure-<name>.sh (a cache hit after the first run) and returns its path. */
export function tool(script: string): string {
  const res = spawnSync(join(ROOT, "scripts", script), [], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (res.status !== 0) throw new Error(`${script} failed (${res.status})`);
  return res.stdout.trim().split("\n").pop()!;
}

export interface Server {
  proc: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

export function startServer(
  cmd: string,
  args: string[],
  logName: string,
  env: Record<string, string> = {},
): Server {
  const log = join(LOGS, logName);
  const fd = openSync(log, "w");
  const proc = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return { proc, log, exited };
}

export function logOf(server: Server | undefined): string {
  if (!server) return "";
  try {
    return readFileSync(server.log, "utf8").slice(-4000);
  } catch {
    return "";
  }
}

export async function stop(server: Server | undefined): Promise<void> {
  if (!server || server.proc.exitCode !== null) return;
  server.proc.kill("SIGTERM");
  const timeout = new Promise((r) => setTimeout(r, 30_000));
  await Promise.race([server.exited, timeout]);
  if (server.proc.exitCode === null) server.proc.kill("SIGKILL");
}

/** Polls `url` until it answers 2xx, the server exits, or `ms` pass. */
export async function waitFor(url: string, server: Server, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (server.proc.exitCode !== null) {
      throw new Error(`server exited (${server.proc.exitCode}) before ${url} answered:\n${logOf(server)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${url} did not answer within ${ms / 1000}s:\n${logOf(server)}`);
}

export { until } from "../helpers/until";

export async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    ...init,
    headers: { "Content-Type": "application/json", ...(init.headers ?? {}) },
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** The tables of schema public in `database` and their owners. */
export async function tables(database: string): Promise<Record<string, string>> {
  const c = await superuser(database);
  try {
    const { rows } = await c.query("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'");
    return Object.fromEntries(rows.map((r) => [r.tablename, r.tableowner]));
  } finally {
    await c.end();
  }
}

/** `openfga migrate`, the datastore as OpenFGA's migration Job gets it (OPENFGA_DATASTORE_URI). */
export function openfgaMigrate(fga: string, uri: string, timeout: string) {
  const res = spawnSync(fga, ["migrate", "--timeout", timeout, "--log-format", "json"], {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, OPENFGA_DATASTORE_ENGINE: "postgres", OPENFGA_DATASTORE_URI: uri },
  });
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

/** `openfga run` on loopback with the datastore URI as its pod gets it; resolves when /healthz answers. */
export async function startOpenfga(fga: string, uri: string, logName: string) {
  const http = await freePort();
  const grpc = await freePort();
  const server = startServer(
    fga,
    [
      "run",
      "--http-addr",
      `127.0.0.1:${http}`,
      "--grpc-addr",
      `127.0.0.1:${grpc}`,
      "--playground-enabled=false",
      "--metrics-enabled=false",
      "--log-format",
      "json",
    ],
    logName,
    { OPENFGA_DATASTORE_ENGINE: "postgres", OPENFGA_DATASTORE_URI: uri },
  );
  const base = `http://127.0.0.1:${http}`;
  try {
    await waitFor(`${base}/healthz`, server, 120_000);
  } catch (err) {
    await stop(server);
    throw err;
  }
  return { server, base };
}

/** OpenFGA's answer to a check of `tuple` in a store and model. */
export async function openfgaCheck(
  base: string,
  storeId: string,
  modelId: string,
  tuple: { user: string; relation: string; object: string },
): Promise<{ status: number; allowed?: boolean }> {
  const res = await json(`${base}/stores/${storeId}/check`, {
    method: "POST",
    body: JSON.stringify({ authorization_model_id: modelId, tuple_key: tuple }),
  });
  return { status: res.status, allowed: (res.body as { allowed?: boolean } | undefined)?.allowed };
}

/**
 * `kc.sh start-dev --db postgres` on loopback, its database URL and
 * credentials in the environment as the chart's pod gets them (KC_DB_USERNAME
 * and KC_DB_PASSWORD from its Secret). `env` adds to it (the bootstrap admin).
 * Returns at once: the caller waits (the first start augments the tree).
 */
export async function startKeycloak(
  kc: string,
  db: { url: string; user: string; password: string },
  logName: string,
  env: Record<string, string> = {},
) {
  const http = await freePort();
  const args = [
    "start-dev",
    "--db",
    "postgres",
    "--http-host",
    "127.0.0.1",
    "--http-port",
    String(http),
    "--https-port",
    String(await freePort()),
    "--http-management-host",
    "127.0.0.1",
    "--http-management-port",
    String(await freePort()),
    "--log-console-color",
    "false",
  ];
  const server = startServer(kc, args, logName, {
    KC_DB_URL: db.url,
    KC_DB_USERNAME: db.user,
    KC_DB_PASSWORD: db.password,
    ...env,
  });
  return { server, base: `http://127.0.0.1:${http}` };
}

/** A master-realm admin token (password grant; it lives 60 s, so fetch one per step). */
export async function keycloakToken(base: string, password: string): Promise<string> {
  const res = await fetch(`${base}/realms/master/protocol/openid-connect/token`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "password",
      client_id: "admin-cli",
      username: "admin",
      password,
    }),
    signal: AbortSignal.timeout(120_000),
  });
  if (res.status !== 200) throw new Error(`admin token: HTTP ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

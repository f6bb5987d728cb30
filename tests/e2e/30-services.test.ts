/**
 * Proof with the real services: OpenFGA and Keycloak create their schemas
 * with the login roles this stack provisions, serve their APIs, and are
 * refused on another service's database. Loopback only, free ports, bounded
 * waits; each server's log is written under .local/test/ and printed when a
 * test fails.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/pg-server";
import { outputs, ROOT, StackOutputs, superuser } from "./harness";

const LOGS = join(ROOT, ".local", "test");
let out: StackOutputs;

function tool(script: string): string {
  const res = spawnSync(join(ROOT, "scripts", script), [], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (res.status !== 0) throw new Error(`${script} failed (${res.status})`);
  return res.stdout.trim().split("\n").pop()!;
}

interface Server {
  proc: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

function startServer(cmd: string, args: string[], logName: string, env: Record<string, string> = {}): Server {
  const log = join(LOGS, logName);
  const fd = openSync(log, "w");
  const proc = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return { proc, log, exited };
}

function logOf(server: Server | undefined): string {
  if (!server) return "";
  try {
    return readFileSync(server.log, "utf8").slice(-4000);
  } catch {
    return "";
  }
}

async function stop(server: Server | undefined): Promise<void> {
  if (!server || server.proc.exitCode !== null) return;
  server.proc.kill("SIGTERM");
  const timeout = new Promise((r) => setTimeout(r, 30_000));
  await Promise.race([server.exited, timeout]);
  if (server.proc.exitCode === null) server.proc.kill("SIGKILL");
}

/** Polls `url` until it answers 2xx, the server exits, or `ms` pass. */
async function waitFor(url: string, server: Server, ms: number): Promise<void> {
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

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    ...init,
    headers: { "Content-Type": "application/json", ...(init.headers ?? {}) },
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function tables(database: string): Promise<Record<string, string>> {
  const c = await superuser(database);
  try {
    const { rows } = await c.query("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'");
    return Object.fromEntries(rows.map((r) => [r.tablename, r.tableowner]));
  } finally {
    await c.end();
  }
}

function withDatabase(uri: string, database: string): string {
  const url = new URL(uri);
  url.pathname = `/${database}`;
  return url.toString();
}

beforeAll(() => {
  out = outputs();
});

describe("OpenFGA on openfga_test as openfga_test_app", () => {
  let fga: string;
  let server: Server | undefined;
  let base: string;

  beforeAll(async () => {
    fga = tool("ensure-openfga.sh");
  });
  afterAll(() => stop(server));

  it("`openfga migrate` with the role's URI creates its schema, owned by the role", () => {
    const res = spawnSync(
      fga,
      [
        "migrate",
        "--datastore-engine",
        "postgres",
        "--datastore-uri",
        out.connectionUris.openfga,
        "--timeout",
        "60s",
      ],
      { encoding: "utf8", timeout: 120_000 },
    );
    expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
  });

  it("the tables tuple and authorization_model exist in openfga_test, owned by openfga_test_app", async () => {
    const t = await tables("openfga_test");
    expect(t.tuple).toBe("openfga_test_app");
    expect(t.authorization_model).toBe("openfga_test_app");
  });

  it("`openfga run` serves on loopback, and a store, a model, a tuple and a check work", async () => {
    const http = await freePort();
    const grpc = await freePort();
    server = startServer(
      fga,
      [
        "run",
        "--datastore-engine",
        "postgres",
        "--datastore-uri",
        out.connectionUris.openfga,
        "--http-addr",
        `127.0.0.1:${http}`,
        "--grpc-addr",
        `127.0.0.1:${grpc}`,
        "--playground-enabled=false",
        "--metrics-enabled=false",
        "--log-format",
        "json",
      ],
      "openfga.log",
    );
    base = `http://127.0.0.1:${http}`;
    await waitFor(`${base}/healthz`, server, 120_000);

    const store = await json(`${base}/stores`, { method: "POST", body: JSON.stringify({ name: "e2e" }) });
    expect(store.status, JSON.stringify(store.body)).toBe(201);
    const storeId = (store.body as { id: string }).id;
    const model = await json(`${base}/stores/${storeId}/authorization-models`, {
      method: "POST",
      body: JSON.stringify({
        schema_version: "1.1",
        type_definitions: [
          { type: "user" },
          {
            type: "document",
            relations: { viewer: { this: {} } },
            metadata: { relations: { viewer: { directly_related_user_types: [{ type: "user" }] } } },
          },
        ],
      }),
    });
    expect(model.status, JSON.stringify(model.body)).toBe(201);
    const modelId = (model.body as { authorization_model_id: string }).authorization_model_id;
    const write = await json(`${base}/stores/${storeId}/write`, {
      method: "POST",
      body: JSON.stringify({
        authorization_model_id: modelId,
        writes: { tuple_keys: [{ user: "user:anne", relation: "viewer", object: "document:1" }] },
      }),
    });
    expect(write.status, JSON.stringify(write.body)).toBe(200);
    const check = async (user: string) =>
      (
        await json(`${base}/stores/${storeId}/check`, {
          method: "POST",
          body: JSON.stringify({
            authorization_model_id: modelId,
            tuple_key: { user, relation: "viewer", object: "document:1" },
          }),
        })
      ).body as { allowed: boolean };
    expect((await check("user:anne")).allowed).toBe(true);
    expect((await check("user:bob")).allowed).toBe(false);
  });

  it("is refused on keycloak_test with its own credentials", () => {
    const res = spawnSync(
      fga,
      [
        "migrate",
        "--datastore-engine",
        "postgres",
        "--datastore-uri",
        withDatabase(out.connectionUris.openfga, "keycloak_test"),
        "--timeout",
        "5s",
      ],
      { encoding: "utf8", timeout: 120_000 },
    );
    expect(res.status).not.toBe(0);
    expect(`${res.stdout}${res.stderr}`).toContain('permission denied for database "keycloak_test"');
  });
});

describe("Keycloak on keycloak_test as keycloak_test_app", () => {
  let kc: string;
  let server: Server | undefined;
  let base: string;
  const adminPassword = `e2e-${process.pid}-${Date.now()}`;
  const kcPassword = () => decodeURIComponent(new URL(out.connectionUris.keycloak).password);

  async function keycloakArgs(database: string, logName: string) {
    const http = await freePort();
    const args = [
      "start-dev",
      "--db",
      "postgres",
      "--db-url",
      `jdbc:postgresql://${out.connection.host}:${out.connection.port}/${database}`,
      "--db-username",
      out.roles.keycloak,
      "--db-password",
      kcPassword(),
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
    const env = { KC_BOOTSTRAP_ADMIN_USERNAME: "admin", KC_BOOTSTRAP_ADMIN_PASSWORD: adminPassword };
    return { server: startServer(kc, args, logName, env), base: `http://127.0.0.1:${http}` };
  }

  async function token(): Promise<string> {
    const res = await fetch(`${base}/realms/master/protocol/openid-connect/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "password",
        client_id: "admin-cli",
        username: "admin",
        password: adminPassword,
      }),
      signal: AbortSignal.timeout(120_000),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  beforeAll(() => {
    kc = tool("ensure-keycloak.sh");
  });
  afterAll(() => stop(server));

  it("`kc.sh start-dev --db postgres` starts on loopback and creates its schema, owned by the role", async () => {
    ({ server, base } = await keycloakArgs("keycloak_test", "keycloak.log"));
    // First start of a distribution augments it; on 2 busy cores this took minutes.
    await waitFor(`${base}/realms/master`, server, 900_000);
    const t = await tables("keycloak_test");
    expect(t.realm).toBe("keycloak_test_app");
    expect(t.user_entity).toBe("keycloak_test_app");
  });

  it("its admin REST API answers: create a realm and read it back", async () => {
    const realm = `e2e${Date.now()}`;
    const create = await fetch(`${base}/admin/realms`, {
      method: "POST",
      headers: { Authorization: `Bearer ${await token()}`, "Content-Type": "application/json" },
      body: JSON.stringify({ realm, enabled: true }),
      signal: AbortSignal.timeout(120_000),
    });
    expect(create.status).toBe(201);
    const read = await json(`${base}/admin/realms/${realm}`, {
      headers: { Authorization: `Bearer ${await token()}` },
    });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ realm, enabled: true });
  });

  it("is refused on gdpr_test with its own credentials", async () => {
    await stop(server);
    const wrong = await keycloakArgs("gdpr_test", "keycloak-gdpr_test.log");
    const code = await Promise.race([
      wrong.server.exited,
      new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 600_000)),
    ]);
    await stop(wrong.server);
    expect(code, logOf(wrong.server)).not.toBe(0);
    expect(code).not.toBe("timeout");
    expect(logOf(wrong.server)).toContain('permission denied for database "gdpr_test"');
  });
});

describe("the ADR's health check after the services started", () => {
  it("every service database has its required tables (make check: no FAIL, nothing PENDING)", () => {
    const res = spawnSync(join(ROOT, "node_modules/.bin/tsx"), ["scripts/check.ts", "test", "--json"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(res.status, res.stdout + res.stderr).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report.counts.FAIL).toBe(0);
    // The test stack takes no scheduled backups: its backup-age rows are PENDING (no backup yet).
    const pending = (report.results as { name: string; check: string; status: string }[]).filter(
      (r) => r.status === "PENDING",
    );
    expect(pending.filter((r) => r.check !== "backup-age")).toEqual([]);
  });
});

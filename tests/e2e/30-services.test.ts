/**
 * Proof with the real services: OpenFGA and Keycloak create their schemas
 * with the login roles this stack provisions, serve their APIs, and are
 * refused on another service's database. Restore drills on what they wrote
 * (tests/e2e/drills.ts): each database backed up to the object-storage
 * emulator and restored with make restore's code into a fresh database,
 * verified against its manifest; OpenFGA on its restored copy gives the same
 * check answers, Keycloak started on its restored copy reads the realm back
 * (one more Keycloak start, the live one stopped first). Loopback only, free
 * ports, bounded waits; each server's log is written under .local/test/ and
 * printed when a test fails.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/pg-server";
import { outputs, ROOT, StackOutputs, superuser } from "./harness";
import { json, logOf, Server, startServer, stop, tool, waitFor } from "./services";
import { backupAndRestore, dropDatabases } from "./drills";
import { FakeGcs, startFakeGcs } from "../helpers/fake-gcs";

let out: StackOutputs;

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

/** The restore drills' fresh databases (dropped when the file ends) and the emulator they go through. */
const DRILLS = { openfga: "openfga_test_drill", keycloak: "keycloak_test_drill", gdpr: "gdpr_test_drill" };
const BUCKET = "e2e-drills";
let gcs: FakeGcs | undefined;
const emulator = () => ({ endpoint: gcs!.endpoint, bucket: BUCKET });

beforeAll(async () => {
  out = outputs();
  gcs = await startFakeGcs();
  await gcs.createBucket(BUCKET);
});

afterAll(async () => {
  gcs?.stop();
  await dropDatabases(Object.values(DRILLS));
});

describe("OpenFGA on openfga_test as openfga_test_app", () => {
  let fga: string;
  let server: Server | undefined;
  let base: string;
  let storeId: string;
  let modelId: string;

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

  /** `openfga run` on `uri`, loopback only; its base URL once /healthz answers. */
  async function run(uri: string, logName: string): Promise<{ server: Server; base: string }> {
    const http = await freePort();
    const grpc = await freePort();
    const started = startServer(
      fga,
      [
        "run",
        "--datastore-engine",
        "postgres",
        "--datastore-uri",
        uri,
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
    );
    const at = `http://127.0.0.1:${http}`;
    await waitFor(`${at}/healthz`, started, 120_000);
    return { server: started, base: at };
  }

  /** Whether `user` may view document:1, as the OpenFGA at `at` answers. */
  async function check(at: string, user: string): Promise<boolean> {
    const res = await json(`${at}/stores/${storeId}/check`, {
      method: "POST",
      body: JSON.stringify({
        authorization_model_id: modelId,
        tuple_key: { user, relation: "viewer", object: "document:1" },
      }),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return (res.body as { allowed: boolean }).allowed;
  }

  it("`openfga run` serves on loopback, and a store, a model, a tuple and a check work", async () => {
    ({ server, base } = await run(out.connectionUris.openfga, "openfga.log"));

    const store = await json(`${base}/stores`, { method: "POST", body: JSON.stringify({ name: "e2e" }) });
    expect(store.status, JSON.stringify(store.body)).toBe(201);
    storeId = (store.body as { id: string }).id;
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
    modelId = (model.body as { authorization_model_id: string }).authorization_model_id;
    const write = await json(`${base}/stores/${storeId}/write`, {
      method: "POST",
      body: JSON.stringify({
        authorization_model_id: modelId,
        writes: { tuple_keys: [{ user: "user:anne", relation: "viewer", object: "document:1" }] },
      }),
    });
    expect(write.status, JSON.stringify(write.body)).toBe(200);
    expect(await check(base, "user:anne")).toBe(true);
    expect(await check(base, "user:bob")).toBe(false);
  });

  it("restore drill: backed up to the emulator, restored into a fresh database, OpenFGA there answers the same checks", async () => {
    const drill = await backupAndRestore("openfga", DRILLS.openfga, emulator());
    expect(drill.problems).toEqual([]);
    expect(drill.manifest.tables.find((t) => t.name === "tuple")?.rows).toBe(1);
    const restored = await run(drill.uri, "openfga-drill.log");
    try {
      for (const user of ["user:anne", "user:bob"]) {
        expect(await check(restored.base, user), user).toBe(await check(base, user));
      }
      expect(await check(restored.base, "user:anne")).toBe(true);
    } finally {
      await stop(restored.server);
    }
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
  let realm: string;
  const adminPassword = `e2e-${process.pid}-${Date.now()}`;
  const kcPassword = () => decodeURIComponent(new URL(out.connectionUris.keycloak).password);

  /**
   * start-dev on `database` as the service's role (default) or `db`'s user;
   * `bootstrap`: the first start creates the master realm's admin.
   */
  async function keycloakArgs(
    database: string,
    logName: string,
    db = { user: out.roles.keycloak, password: kcPassword() },
    bootstrap = true,
  ) {
    const http = await freePort();
    const args = [
      "start-dev",
      "--db",
      "postgres",
      "--db-url",
      `jdbc:postgresql://${out.connection.host}:${out.connection.port}/${database}`,
      "--db-username",
      db.user,
      "--db-password",
      db.password,
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
    const env: Record<string, string> = bootstrap
      ? { KC_BOOTSTRAP_ADMIN_USERNAME: "admin", KC_BOOTSTRAP_ADMIN_PASSWORD: adminPassword }
      : {};
    return { server: startServer(kc, args, logName, env), base: `http://127.0.0.1:${http}` };
  }

  /** A master-realm admin token from the Keycloak at `at`, with the admin's password. */
  async function token(at = base): Promise<string> {
    const res = await fetch(`${at}/realms/master/protocol/openid-connect/token`, {
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
    realm = `e2e${Date.now()}`;
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

  it("restore drill: backed up to the emulator, restored into a fresh database, Keycloak started there reads the realm back", async () => {
    const drill = await backupAndRestore("keycloak", DRILLS.keycloak, emulator());
    expect(drill.problems).toEqual([]);
    expect(drill.manifest.tables.find((t) => t.name === "realm")?.rows).toBe(2);
    // One Keycloak at a time on two cores: the live one stops first.
    await stop(server);
    const u = new URL(drill.uri);
    const db = { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
    // No bootstrap admin: the admin that logs in below is the one restored from the backup.
    const restored = await keycloakArgs(drill.database, "keycloak-drill.log", db, false);
    try {
      await waitFor(`${restored.base}/realms/master`, restored.server, 900_000);
      const open = await json(`${restored.base}/realms/${realm}`);
      expect(open.status).toBe(200);
      expect(open.body).toMatchObject({ realm });
      const read = await json(`${restored.base}/admin/realms/${realm}`, {
        headers: { Authorization: `Bearer ${await token(restored.base)}` },
      });
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ realm, enabled: true });
      expect((await json(`${restored.base}/realms/not-${realm}`)).status).toBe(404);
    } finally {
      await stop(restored.server);
    }
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

describe("restore drill of gdpr_test", () => {
  it("backed up to the emulator and restored into a fresh database, verified against its manifest", async () => {
    const drill = await backupAndRestore("gdpr", DRILLS.gdpr, emulator());
    expect(drill.problems).toEqual([]);
    expect(drill.manifest.tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(["user_profiles", "schema_migrations"]),
    );
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

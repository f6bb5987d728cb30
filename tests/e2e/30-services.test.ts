/**
 * Proof with the real services: OpenFGA and Keycloak create their schemas
 * with the login roles this stack provisions, serve their APIs, and are
 * refused on another service's database. Loopback only, free ports, bounded
 * waits; each server's log is written under .local/test/ and printed when a
 * test fails. What they write (a store, model and tuple; a realm) is recorded
 * for 35-services-rotation, which reads it back after a rotation.
 *
 * Restore drills on what they wrote (tests/e2e/drills.ts): each database
 * backed up to the object-storage emulator and restored with make restore's
 * code into a fresh database, verified against its manifest; OpenFGA on its
 * restored copy gives the same check answers, Keycloak started on its restored
 * copy reads the realm back and its restored admin logs in (one more Keycloak
 * start, the live one stopped first).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outputs, ROOT, StackOutputs } from "./harness";
import {
  json,
  keycloakToken,
  logOf,
  openfgaCheck,
  openfgaMigrate,
  readRecord,
  record,
  RECORD_FILE,
  Server,
  startKeycloak,
  startOpenfga,
  stop,
  tables,
  tool,
  waitFor,
} from "./real-services";
import { backupAndRestore, dropDatabases } from "./drills";
import { FakeGcs, startFakeGcs } from "../helpers/fake-gcs";

let out: StackOutputs;

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
  rmSync(RECORD_FILE, { force: true });
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

  beforeAll(async () => {
    fga = tool("ensure-openfga.sh");
  });
  afterAll(() => stop(server));

  it("`openfga migrate` with the role's URI creates its schema, owned by the role", () => {
    const res = openfgaMigrate(fga, out.connectionUris.openfga, "60s");
    expect(res.status, res.output).toBe(0);
  });

  it("the tables tuple and authorization_model exist in openfga_test, owned by openfga_test_app", async () => {
    const t = await tables("openfga_test");
    expect(t.tuple).toBe("openfga_test_app");
    expect(t.authorization_model).toBe("openfga_test_app");
  });

  it("`openfga run` serves on loopback, and a store, a model, a tuple and a check work", async () => {
    ({ server, base } = await startOpenfga(fga, out.connectionUris.openfga, "openfga.log"));

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
    const tuple = { user: "user:anne", relation: "viewer", object: "document:1" };
    const write = await json(`${base}/stores/${storeId}/write`, {
      method: "POST",
      body: JSON.stringify({ authorization_model_id: modelId, writes: { tuple_keys: [tuple] } }),
    });
    expect(write.status, JSON.stringify(write.body)).toBe(200);
    expect(await openfgaCheck(base, storeId, modelId, tuple)).toEqual({ status: 200, allowed: true });
    const denied = { ...tuple, user: "user:bob" };
    expect(await openfgaCheck(base, storeId, modelId, denied)).toEqual({ status: 200, allowed: false });
    record({ openfga: { storeId, modelId, tuple, deniedUser: denied.user } });
  });

  it("restore drill: backed up to the emulator, restored into a fresh database, OpenFGA there answers the same checks", async () => {
    const written = readRecord().openfga!;
    const drill = await backupAndRestore("openfga", DRILLS.openfga, emulator());
    expect(drill.problems).toEqual([]);
    expect(drill.manifest.tables.find((t) => t.name === "tuple")?.rows).toBe(1);
    // The copy is the admin's (pg_restore --no-owner): OpenFGA connects to it as the admin.
    const restored = await startOpenfga(fga, drill.uri, "openfga-drill.log");
    try {
      const tuples = [written.tuple, { ...written.tuple, user: written.deniedUser }];
      for (const t of tuples) {
        const live = await openfgaCheck(base, written.storeId, written.modelId, t);
        expect(await openfgaCheck(restored.base, written.storeId, written.modelId, t), t.user).toEqual(live);
      }
      expect(await openfgaCheck(restored.base, written.storeId, written.modelId, written.tuple)).toEqual({
        status: 200,
        allowed: true,
      });
    } finally {
      await stop(restored.server);
    }
  });

  it("is refused on keycloak_test with its own credentials", () => {
    const res = openfgaMigrate(fga, withDatabase(out.connectionUris.openfga, "keycloak_test"), "5s");
    expect(res.status).not.toBe(0);
    expect(res.output).toContain('permission denied for database "keycloak_test"');
  });
});

describe("Keycloak on keycloak_test as keycloak_test_app", () => {
  let kc: string;
  let server: Server | undefined;
  let base: string;
  const adminPassword = randomBytes(18).toString("base64url");
  const bootstrapAdmin = { KC_BOOTSTRAP_ADMIN_USERNAME: "admin", KC_BOOTSTRAP_ADMIN_PASSWORD: adminPassword };

  /** Keycloak on `database` with keycloak's active login user and password from the outputs. */
  function keycloakOn(database: string, logName: string) {
    const db = {
      url: `jdbc:postgresql://${out.connection.host}:${out.connection.port}/${database}`,
      user: out.roles.keycloak,
      password: decodeURIComponent(new URL(out.connectionUris.keycloak).password),
    };
    return startKeycloak(kc, db, logName, bootstrapAdmin);
  }

  beforeAll(() => {
    kc = tool("ensure-keycloak.sh");
  });
  afterAll(() => stop(server));

  it("`kc.sh start-dev --db postgres` starts on loopback and creates its schema, owned by the role", async () => {
    ({ server, base } = await keycloakOn("keycloak_test", "keycloak.log"));
    // First start of a distribution augments it; on 2 busy cores this took minutes.
    await waitFor(`${base}/realms/master`, server, 900_000);
    const t = await tables("keycloak_test");
    expect(t.realm).toBe("keycloak_test_app");
    expect(t.user_entity).toBe("keycloak_test_app");
  }, 900_000);

  it("its admin REST API answers: create a realm and read it back", async () => {
    const realm = `e2e${Date.now()}`;
    const create = await fetch(`${base}/admin/realms`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${await keycloakToken(base, adminPassword)}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ realm, enabled: true }),
      signal: AbortSignal.timeout(120_000),
    });
    expect(create.status).toBe(201);
    const read = await json(`${base}/admin/realms/${realm}`, {
      headers: { Authorization: `Bearer ${await keycloakToken(base, adminPassword)}` },
    });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ realm, enabled: true });
    record({ keycloak: { adminPassword, realm, realmId: (read.body as { id: string }).id } });
  });

  it("restore drill: backed up to the emulator, restored into a fresh database, Keycloak started there reads the realm back", async () => {
    const { realm, realmId } = readRecord().keycloak!;
    const drill = await backupAndRestore("keycloak", DRILLS.keycloak, emulator());
    expect(drill.problems).toEqual([]);
    expect(drill.manifest.tables.find((t) => t.name === "realm")?.rows).toBe(2);
    // One Keycloak at a time on two cores: the live one stops first.
    await stop(server);
    const u = new URL(drill.uri);
    const db = {
      url: `jdbc:postgresql://${u.hostname}:${u.port}/${drill.database}`,
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
    };
    // No bootstrap admin: the admin that logs in below is the one restored from the backup.
    const restored = await startKeycloak(kc, db, "keycloak-drill.log");
    try {
      await waitFor(`${restored.base}/realms/master`, restored.server, 900_000);
      const open = await json(`${restored.base}/realms/${realm}`);
      expect(open.status).toBe(200);
      expect(open.body).toMatchObject({ realm });
      const read = await json(`${restored.base}/admin/realms/${realm}`, {
        headers: { Authorization: `Bearer ${await keycloakToken(restored.base, adminPassword)}` },
      });
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ id: realmId, realm, enabled: true });
      expect((await json(`${restored.base}/realms/not-${realm}`)).status).toBe(404);
    } finally {
      await stop(restored.server);
    }
  }, 900_000);

  it("is refused on gdpr_test with its own credentials", async () => {
    await stop(server);
    const wrong = await keycloakOn("gdpr_test", "keycloak-gdpr_test.log");
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

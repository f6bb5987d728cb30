/**
 * OpenFGA and Keycloak keep their data across a credential rotation
 * (docs/rotation.md), on the test stack right after 30-services, where they
 * wrote a store, a model and a tuple, and a realm, as the stack's first login
 * users (`_a`; what they wrote is in services.json):
 *
 * - an OpenFGA started on the first credentials (a pod from before the
 *   rotation) answers every check while `make rotate STACK=test
 *   SERVICE=openfga ARGS=--no-up` and `make rotate STACK=test
 *   SERVICE=keycloak` rotate both (one `pulumi up`);
 * - the outputs then give each service its other login user (`_b`) with a new
 *   password, gdpr's credentials and the Helm values are unchanged, and the
 *   previous passwords still log in;
 * - OpenFGA restarted with the URI its Secret now holds: `openfga migrate`
 *   applies nothing, the tuple written before gets the same answer, a new
 *   tuple is written, all over sessions of `_b` only;
 * - Keycloak restarted with its Secret's db-user and db-password: Liquibase
 *   applies nothing, the admin created at its first start logs in, the realm
 *   reads back with the same id and takes a new user, over sessions of `_b`
 *   only; every table of both is still owned by the service role;
 * - `make check STACK=test` has no FAIL, a second `up` changes nothing and
 *   `refresh` finds no drift.
 *
 * Afterwards Pulumi.test.yaml is put back and `up` run, so the later files find
 * the stack as the committed config has it: user a active with the password it
 * had. (That lowers the counters, which gives user b yet another password;
 * harmless here, nothing holds it.) The outputs file is rewritten each time.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { secretStringData } from "../../components/cluster/secret-data";
import { SECRET_KEYS } from "../../components/naming";
import { ConnectionParts, jdbcUrl } from "../../components/server/connection";
import {
  make,
  makeAsync,
  outputs,
  pulumi,
  ROOT,
  saveOutputs,
  STACK,
  StackOutputs,
  superuser,
} from "./harness";
import {
  json,
  keycloakToken,
  openfgaCheck,
  openfgaMigrate,
  readRecord,
  RECORD_FILE,
  Server,
  ServicesRecord,
  startKeycloak,
  startOpenfga,
  stop,
  tables,
  tool,
  until,
  waitFor,
} from "./real-services";

const STACK_FILE = join(ROOT, `Pulumi.${STACK}.yaml`);
const original = readFileSync(STACK_FILE, "utf8");
const ROTATED = ["openfga", "keycloak"] as const;

interface LoginUsers {
  rotation: number;
  active: string;
  standby: string;
}

let fga: string;
let kc: string;
let data: Required<ServicesRecord>;
let before: StackOutputs;
let after: StackOutputs;
let tablesBefore: Record<string, Record<string, string>>;
let gooseBefore: unknown[];
let liquibaseBefore: unknown[];
const servers: Server[] = [];

function loginUsers(out: StackOutputs, service: string): LoginUsers {
  return (out.loginUsers as Record<string, LoginUsers>)[service];
}

function parts(uri: string): ConnectionParts {
  const u = new URL(uri);
  return {
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    host: u.hostname,
    port: Number(u.port),
    database: decodeURIComponent(u.pathname.slice(1)),
    sslmode: u.searchParams.get("sslmode") ?? "disable",
  };
}

/** What the service's Kubernetes Secret holds with these outputs (components/cluster/secret-data.ts). */
function secretOf(service: string, out: StackOutputs): Record<string, string> {
  return secretStringData(service, parts(out.connectionUris[service]));
}

async function queryAs(uri: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new Client({ connectionString: uri, connectionTimeoutMillis: 10_000 });
  c.on("error", () => undefined);
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

async function asSuperuser(database: string, sql: string, params: unknown[] = []): Promise<unknown[]> {
  const c = await superuser(database);
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** The login users with a client session on `database` (other than this inspection's). */
async function sessionUsers(database: string): Promise<string[]> {
  const rows = (await asSuperuser(
    "postgres",
    `SELECT DISTINCT usename::text AS u FROM pg_stat_activity
      WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid() ORDER BY 1`,
    [database],
  )) as { u: string }[];
  return rows.map((r) => r.u);
}

/** The login users of the sessions a server holds on `database` (once it holds one). */
async function activeUsers(database: string): Promise<string[]> {
  let users: string[] = [];
  await until(
    async () => (users = await sessionUsers(database)).length > 0,
    30_000,
    `a session on ${database}`,
  );
  return users;
}

/** goose's record of OpenFGA's migrations: one row per migration applied. */
const goose = () =>
  asSuperuser(
    "openfga_test",
    "SELECT id, version_id::int AS v, is_applied FROM goose_db_version ORDER BY id",
  );
/** Liquibase's record of Keycloak's changesets: one row per changeset run. */
const liquibase = () =>
  asSuperuser(
    "keycloak_test",
    "SELECT id, author, filename, orderexecuted, md5sum FROM databasechangelog ORDER BY orderexecuted, id",
  );

beforeAll(async () => {
  const rec = readRecord();
  if (!rec.openfga || !rec.keycloak) {
    throw new Error(`${RECORD_FILE} lacks what 30-services writes: run the e2e project in order`);
  }
  data = rec as Required<ServicesRecord>;
  expect(parse(original).config[`platform-databases:rotations`], `${STACK_FILE} starts unrotated`).toBe(
    undefined,
  );
  fga = tool("ensure-openfga.sh");
  kc = tool("ensure-keycloak.sh");
  before = outputs();
  tablesBefore = { openfga_test: await tables("openfga_test"), keycloak_test: await tables("keycloak_test") };
  gooseBefore = await goose();
  liquibaseBefore = await liquibase();
});

afterAll(async () => {
  for (const s of servers) await stop(s);
  if (readFileSync(STACK_FILE, "utf8") === original) return;
  writeFileSync(STACK_FILE, original);
  pulumi(["up", "--yes", "--skip-preview"]);
  const restored = saveOutputs();
  if (JSON.stringify(restored.roles) !== JSON.stringify(before.roles)) {
    throw new Error(`after putting ${STACK_FILE} back: roles ${JSON.stringify(restored.roles)}`);
  }
}, 600_000);

describe("a rotation of openfga and keycloak after they wrote data", () => {
  it("`make rotate` rotates both while an OpenFGA on the previous credentials answers every check", async () => {
    const { openfga } = data;
    const old = await startOpenfga(
      fga,
      secretOf("openfga", before)[SECRET_KEYS.openfga.uri],
      "openfga-a.log",
    );
    servers.push(old.server);
    const check = () => openfgaCheck(old.base, openfga.storeId, openfga.modelId, openfga.tuple);
    expect(await check()).toEqual({ status: 200, allowed: true });

    // A pod started before the rotation, checking on its own pace, during it.
    const answers = { ok: 0, failed: [] as string[] };
    let rotating = true;
    const checker = (async () => {
      while (rotating) {
        const r = await check().catch((e: Error) => ({ status: 0, allowed: e.message }));
        if (r.status === 200 && r.allowed === true) answers.ok++;
        else answers.failed.push(JSON.stringify(r));
        await new Promise((ok) => setTimeout(ok, 200));
      }
    })();
    const first = await makeAsync("rotate", `STACK=${STACK}`, "SERVICE=openfga", "ARGS=--no-up");
    const second = await makeAsync("rotate", `STACK=${STACK}`, "SERVICE=keycloak");
    rotating = false;
    await checker;
    after = saveOutputs();

    expect(first.status, first.output).toBe(0);
    expect(first.stdout).toContain(`==> Pulumi.${STACK}.yaml: rotations openfga=1`);
    expect(second.status, second.output).toBe(0);
    expect(second.stdout).toContain(`==> Pulumi.${STACK}.yaml: rotations keycloak=1`);
    expect(second.stdout).toContain("==> keycloak rotated (1)");
    expect(parse(readFileSync(STACK_FILE, "utf8")).config["platform-databases:rotations"]).toEqual([
      "openfga=1",
      "keycloak=1",
    ]);
    for (const s of ROTATED) {
      const password = parts(after.connectionUris[s]).password;
      expect(`${first.output}${second.output}`.includes(password), `${s}'s new password printed`).toBe(false);
    }
    expect(answers.failed).toEqual([]);
    expect(answers.ok, "checks answered while make rotate ran").toBeGreaterThanOrEqual(5);
    expect(await check()).toEqual({ status: 200, allowed: true });
  }, 600_000);

  it("the outputs give each its other login user with a new password; gdpr and the Helm values are unchanged", () => {
    for (const s of ROTATED) {
      const was = loginUsers(before, s);
      expect(was).toEqual({ rotation: 0, active: `${s}_test_app_a`, standby: `${s}_test_app_b` });
      expect(loginUsers(after, s)).toEqual({ rotation: 1, active: was.standby, standby: was.active });
      expect(after.roles[s]).toBe(`${s}_test_app_b`);
      expect(parts(after.connectionUris[s]).user).toBe(`${s}_test_app_b`);
      expect(parts(after.connectionUris[s]).password).not.toBe(parts(before.connectionUris[s]).password);
    }
    // What the pods read: OpenFGA's URI and Keycloak's db-user name the new user.
    expect(parts(secretOf("openfga", after)[SECRET_KEYS.openfga.uri]).user).toBe("openfga_test_app_b");
    expect(secretOf("keycloak", after)[SECRET_KEYS.keycloak.user]).toBe("keycloak_test_app_b");
    expect(after.connectionUris.gdpr).toBe(before.connectionUris.gdpr);
    expect(loginUsers(after, "gdpr")).toEqual(loginUsers(before, "gdpr"));
    expect(after.helmValues).toEqual(before.helmValues);
  });

  it("the previous passwords still log in, and the new ones do", async () => {
    for (const s of ROTATED) {
      const role = `${s}_test_app`;
      const sql = "SELECT session_user AS s, current_user AS u";
      expect(await queryAs(before.connectionUris[s], sql)).toEqual([{ s: `${role}_a`, u: role }]);
      expect(await queryAs(after.connectionUris[s], sql)).toEqual([{ s: `${role}_b`, u: role }]);
    }
  });
});

describe("OpenFGA restarted with the rotated credentials", () => {
  it("`openfga migrate` applies nothing; `openfga run` answers the check of the tuple written before, as _b only", async () => {
    const { openfga } = data;
    for (const s of servers.splice(0)) await stop(s);
    await until(async () => (await sessionUsers("openfga_test")).length === 0, 60_000, "OpenFGA (a) gone");

    const uri = secretOf("openfga", after)[SECRET_KEYS.openfga.uri];
    const migrate = openfgaMigrate(fga, uri, "60s");
    expect(migrate.status, migrate.output).toBe(0);
    // It found the schema at the version goose recorded, and ran no migration.
    const latest = Math.max(...(gooseBefore as { v: number }[]).map((r) => r.v));
    expect(migrate.output).toMatch(new RegExp(`"current version":${latest}\\b`));
    expect(await goose()).toEqual(gooseBefore);

    const now = await startOpenfga(fga, uri, "openfga-b.log");
    servers.push(now.server);
    expect(await openfgaCheck(now.base, openfga.storeId, openfga.modelId, openfga.tuple)).toEqual({
      status: 200,
      allowed: true,
    });
    const denied = { ...openfga.tuple, user: openfga.deniedUser };
    expect(await openfgaCheck(now.base, openfga.storeId, openfga.modelId, denied)).toEqual({
      status: 200,
      allowed: false,
    });
    // It writes too: a new tuple as _b, in tables created by _a's migration.
    const added = { ...openfga.tuple, object: "document:2" };
    const write = await json(`${now.base}/stores/${openfga.storeId}/write`, {
      method: "POST",
      body: JSON.stringify({ authorization_model_id: openfga.modelId, writes: { tuple_keys: [added] } }),
    });
    expect(write.status, JSON.stringify(write.body)).toBe(200);
    expect(await openfgaCheck(now.base, openfga.storeId, openfga.modelId, added)).toEqual({
      status: 200,
      allowed: true,
    });
    expect(await activeUsers("openfga_test")).toEqual(["openfga_test_app_b"]);
    expect(await tables("openfga_test")).toEqual(tablesBefore.openfga_test);
    expect(new Set(Object.values(tablesBefore.openfga_test))).toEqual(new Set(["openfga_test_app"]));
    await stop(servers.pop());
  });
});

describe("Keycloak restarted with the rotated credentials", () => {
  it("finds its schema (Liquibase applies nothing); the realm reads back and takes a user, as _b only", async () => {
    const { keycloak } = data;
    const secret = secretOf("keycloak", after);
    const p = parts(after.connectionUris.keycloak);
    const { server, base } = await startKeycloak(
      kc,
      {
        url: jdbcUrl(p),
        user: secret[SECRET_KEYS.keycloak.user],
        password: secret[SECRET_KEYS.keycloak.password],
      },
      "keycloak-b.log",
    );
    servers.push(server);
    await waitFor(`${base}/realms/master`, server, 900_000);
    expect(await liquibase()).toEqual(liquibaseBefore);

    // No bootstrap admin this time: the admin is the one created at the first start, read from the database.
    const auth = async () => ({
      Authorization: `Bearer ${await keycloakToken(base, keycloak.adminPassword)}`,
    });
    const realm = await json(`${base}/admin/realms/${keycloak.realm}`, { headers: await auth() });
    expect(realm.status).toBe(200);
    expect(realm.body).toMatchObject({ id: keycloak.realmId, realm: keycloak.realm, enabled: true });
    const create = await json(`${base}/admin/realms/${keycloak.realm}/users`, {
      method: "POST",
      headers: await auth(),
      body: JSON.stringify({ username: "after-rotation", enabled: true }),
    });
    expect(create.status, JSON.stringify(create.body)).toBe(201);
    const users = await json(
      `${base}/admin/realms/${keycloak.realm}/users?username=after-rotation&exact=true`,
      {
        headers: await auth(),
      },
    );
    expect((users.body as { username: string }[]).map((u) => u.username)).toEqual(["after-rotation"]);

    expect(await activeUsers("keycloak_test")).toEqual(["keycloak_test_app_b"]);
    expect(await tables("keycloak_test")).toEqual(tablesBefore.keycloak_test);
    expect(new Set(Object.values(tablesBefore.keycloak_test))).toEqual(new Set(["keycloak_test_app"]));
    await stop(servers.pop());
  }, 900_000);
});

describe("the stack after the rotation", () => {
  it("`make check STACK=test` has no FAIL; both login users of each service pass", () => {
    const res = make("check", `STACK=${STACK}`, "ARGS=--json");
    expect(res.status, res.output).toBe(0);
    const report = JSON.parse(res.stdout) as {
      counts: Record<string, number>;
      results: { name: string; check: string; status: string }[];
    };
    expect(report.counts.FAIL).toBe(0);
    const status = Object.fromEntries(report.results.map((r) => [r.name, r.status]));
    for (const s of ROTATED)
      for (const u of ["a", "b"]) expect(status[`login-user ${s}_test_app_${u}`], `${s} ${u}`).toBe("PASS");
    // The test stack takes no scheduled backups: its backup-age rows are PENDING.
    expect(report.results.filter((r) => r.status === "PENDING" && r.check !== "backup-age")).toEqual([]);
  });

  it("a second `up` changes nothing", () => {
    const res = pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"], { allowFailure: true });
    expect(res.status, res.output).toBe(0);
  });

  it("`refresh` finds no drift", () => {
    const res = pulumi(["refresh", "--yes", "--skip-preview", "--expect-no-changes"], { allowFailure: true });
    expect(res.status, res.output).toBe(0);
  });
});

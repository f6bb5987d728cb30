/**
 * The migrations as a Pulumi resource: its place in the program under mocks
 * (after the gdpr database, password a secret, version exported), and its
 * provider as the resource ships it to the dynamic-provider host (its
 * `__provider` module), run in a plain Node process against PostgreSQL.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { Program, runIndex } from "./helpers/index-program";
import { installMocks, ofType, parents, resetRecorded, settle, unwrap } from "./helpers/mocks";
import { readMigrationsDir } from "../components/schema/migration-runner";
import { startTestServer, TestServer } from "./helpers/pg-server";
import { createGdprDatabase } from "./helpers/gdpr-database";

const ROOT = join(__dirname, "..");
/** Tables the migration files create. */
const createdTables = (files: { sql: string }[]) =>
  files.reduce((n, f) => n + (f.sql.match(/^CREATE TABLE/gim) ?? []).length, 0);

const MIGRATIONS_DIR = join(ROOT, "migrations");
const RUN_TYPE = "pulumi-nodejs:dynamic/platform-databases:SchemaMigrationRun";
/** How the Node SDK marks a secret in a registration request. */
const SECRET_SIG = { key: "4dabf18193072939515e22adb298388d", value: "1b47061264138c4ac30d75fd1eb44270" };

interface Registration {
  object: Record<string, unknown>;
  dependencies: string[];
  deletedWith: string;
  replaceWith: string[];
}

/** Raw registration requests by resource name: secrets still marked, options visible. */
const registrations = new Map<string, Registration>();

function captureRegistrations(): void {
  registrations.clear();
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    registrations.set(req.getName(), {
      object: req.getObject()?.toJavaScript() ?? {},
      dependencies: req.getDependenciesList(),
      deletedWith: req.getDeletedwith(),
      replaceWith: req.getReplaceWithList(),
    });
    return register(req, cb);
  };
}
interface RegisterRequest {
  getName(): string;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getDependenciesList(): string[];
  getDeletedwith(): string;
  getReplaceWithList(): string[];
}

const isSecretValue = (v: unknown) =>
  typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG.key] === SECRET_SIG.value;

async function program(config: Record<string, string>): Promise<Program> {
  vi.resetModules();
  resetRecorded();
  await installMocks(config);
  captureRegistrations();
  return runIndex();
}

describe("the migrations in the program (mocks)", { timeout: 120_000 }, () => {
  const savedPassword = process.env.PGPASSWORD;
  beforeEach(() => {
    delete process.env.PGPASSWORD;
  });
  afterAll(() => {
    if (savedPassword === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = savedPassword;
  });

  it("runs after the gdpr database, its schema and grants, as the owner role, with every file's checksum", async () => {
    const p = await program({ environment: "test", port: "55433", adminPassword: "config-admin-pw" });
    await unwrap(p.databaseNames);
    await settle();
    const runs = ofType(RUN_TYPE);
    expect(runs).toHaveLength(1);
    const files = readMigrationsDir(MIGRATIONS_DIR);
    expect(runs[0].inputs).toMatchObject({
      host: "127.0.0.1",
      port: 55433,
      sslmode: "disable",
      user: "platform_admin",
      database: "gdpr_test",
      ownerRole: "gdpr_test_owner",
      loginRole: "gdpr_test_app",
      migrations: files.map((f) => `${f.name} sha256:${f.checksum}`),
      directory: MIGRATIONS_DIR,
      runner: join(ROOT, "components", "schema", "migration-runner.ts"),
    });
    expect(parents.get("platform-gdpr-migrations-run")).toMatch(
      /SchemaMigrations::platform-gdpr-migrations$/,
    );

    const reg = registrations.get("platform-gdpr-migrations-run")!;
    // Registration URNs carry the parent's type: match on `type::name`.
    const dependencyOn = (type: string, name: string) =>
      reg.dependencies.find((u) => u.endsWith(`$${type}::${name}`));
    const database = dependencyOn("postgresql:index/database:Database", "platform-gdpr-database");
    expect(database).toBeDefined();
    expect(dependencyOn("postgresql:index/schema:Schema", "platform-gdpr-schema")).toBeDefined();
    expect(dependencyOn("postgresql:index/grant:Grant", "platform-gdpr-connect")).toBeDefined();
    expect(dependencyOn("postgresql:index/grant:Grant", "platform-gdpr-schema-usage")).toBeDefined();
    expect(dependencyOn("postgresql:index/database:Database", "platform-openfga-database")).toBeUndefined();
    expect(reg.deletedWith).toBe(database);
    expect(reg.replaceWith).toEqual([database]);
  });

  it("the password is a secret input, in neither the provider's module (__provider) nor any output", async () => {
    const p = await program({ environment: "test", adminPassword: "config-admin-pw" });
    await unwrap(p.databaseNames);
    await settle();
    const reg = registrations.get("platform-gdpr-migrations-run")!;
    expect(isSecretValue(reg.object.password)).toBe(true);
    expect((reg.object.password as { value: string }).value).toBe("config-admin-pw");
    const provider = reg.object.__provider;
    expect(typeof provider).toBe("string");
    expect(isSecretValue(provider)).toBe(false);
    expect(provider as string).not.toContain("config-admin-pw");
    const publicOutputs = JSON.stringify(
      await unwrap(pulumi.output({ v: p.gdprSchemaVersion, n: p.databaseNames, r: p.roles })),
    );
    expect(publicOutputs).not.toContain("config-admin-pw");
  });

  it("a local stack's PGPASSWORD becomes a secret input too", async () => {
    process.env.PGPASSWORD = "env-admin-pw";
    const p = await program({ environment: "dev" });
    await unwrap(p.databaseNames);
    await settle();
    const password = registrations.get("platform-gdpr-migrations-run")!.object.password;
    expect(isSecretValue(password)).toBe(true);
    expect((password as { value: string }).value).toBe("env-admin-pw");
    expect(ofType(RUN_TYPE)[0].inputs.database).toBe("gdpr");
  });

  it("exports the schema version; no gdpr service, no migrations", async () => {
    const withGdpr = await program({ environment: "test" });
    // Under mocks the run's state is its inputs, where version is not set yet.
    expect(withGdpr.gdprSchemaVersion).toBeDefined();
    expect(await unwrap(withGdpr.gdprSchemaVersion!)).toBeUndefined();
    // Let the first program finish registering (the monitoring role waits for
    // the migrations) before the next one replaces the mocks.
    await Promise.all(
      Object.values(withGdpr)
        .filter(pulumi.Output.isInstance)
        .map((o) => unwrap(o as pulumi.Output<unknown>)),
    );
    await settle();
    const without = await program({ environment: "test", services: '["openfga","keycloak"]' });
    await unwrap(without.databaseNames);
    await settle();
    expect(ofType(RUN_TYPE)).toEqual([]);
    expect(await unwrap(without.gdprSchemaVersion)).toBeUndefined();
    expect(await unwrap(without.schemaVersions)).toEqual({});
  });
});

describe(
  "the provider, as its resources ship it (__provider) and run in a plain Node process",
  { timeout: 300_000 },
  () => {
    let server: TestServer;
    let dir: string;
    let providerFile: string;

    beforeAll(async () => {
      const { MIGRATIONS_PROVIDER_SOURCE } = await import("../components/schema/schema-migrations");
      dir = mkdtempSync(join(tmpdir(), "provider-"));
      providerFile = join(dir, "provider.js");
      writeFileSync(providerFile, MIGRATIONS_PROVIDER_SOURCE);
      server = await startTestServer();
    }, 120_000);
    afterAll(() => {
      server?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** Calls one provider method in a fresh `node` (no tsx, no vitest), from a directory outside the checkout. */
    function call(
      method: "create" | "update" | "diff",
      args: unknown[],
    ): { result?: unknown; error?: string } {
      const script = `
      const requireFromString = require(${JSON.stringify(require.resolve("require-from-string"))});
      const provider = requireFromString(require("fs").readFileSync(${JSON.stringify(providerFile)}, "utf8")).handler();
      provider[process.argv[1]](...JSON.parse(process.argv[2])).then(
        (r) => process.stdout.write(JSON.stringify({ result: r })),
        (e) => process.stdout.write(JSON.stringify({ error: String(e && e.message) })),
      );`;
      const res = spawnSync(process.execPath, ["-e", script, method, JSON.stringify(args)], {
        cwd: dir,
        encoding: "utf8",
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
        timeout: 120_000,
      });
      if (res.status !== 0 || !res.stdout) throw new Error(`node exited ${res.status}: ${res.stderr}`);
      return JSON.parse(res.stdout);
    }

    it("create applies the migrations and returns the version without the password; update re-checks", async () => {
      const db = await createGdprDatabase(server, "gdpr_test");
      const files = readMigrationsDir(MIGRATIONS_DIR);
      const inputs = {
        host: server.host,
        port: server.port,
        sslmode: "disable",
        user: "platform_admin",
        password: db.adminPassword,
        database: db.database,
        ownerRole: db.ownerRole,
        loginRole: db.loginRole,
        migrations: files.map((f) => `${f.name} sha256:${f.checksum}`),
        directory: MIGRATIONS_DIR,
        runner: join(ROOT, "components", "schema", "migration-runner.ts"),
      };
      const created = call("create", [inputs]);
      expect(created.error).toBeUndefined();
      const outs = (created.result as { id: string; outs: Record<string, unknown> }).outs;
      expect(outs).toMatchObject({
        version: files[files.length - 1].version,
        applied: files.map((f) => f.name),
        database: "gdpr_test",
      });
      expect(outs).not.toHaveProperty("password");
      expect(JSON.stringify(created.result)).not.toContain(db.adminPassword);

      const c = await server.client("gdpr_test");
      try {
        expect(
          (await c.query("SELECT count(*)::int AS n FROM pg_tables WHERE tableowner = $1", [db.ownerRole]))
            .rows,
        ).toEqual([{ n: createdTables(files) + 1 }]); // and the version table
      } finally {
        await c.end();
      }

      const updated = call("update", ["id", outs, inputs]);
      expect((updated.result as { outs: Record<string, unknown> }).outs).toMatchObject({
        version: files[files.length - 1].version,
      });

      const stale = call("create", [
        { ...inputs, migrations: ["001_gdpr_schema.sql sha256:" + "0".repeat(64)] },
      ]);
      expect(stale.error).toMatch(/changed after the program read them/);

      const wrongPassword = call("create", [{ ...inputs, password: "not-the-password" }]);
      expect(wrongPassword.error).toMatch(/password authentication failed for user "platform_admin"/);
    });

    it("diff: a new file updates, a new database replaces, a new password or checkout path changes nothing", () => {
      const base = {
        host: "h",
        port: 5432,
        sslmode: "disable",
        user: "a",
        database: "gdpr",
        ownerRole: "gdpr_owner",
        loginRole: "gdpr_app",
        migrations: ["001_gdpr_schema.sql sha256:aa"],
        directory: "/x/migrations",
        runner: "/x/components/migration-runner.ts",
      };
      const diff = (news: Record<string, unknown>) => call("diff", ["id", base, { ...base, ...news }]).result;
      expect(diff({ migrations: [...base.migrations, "002_next.sql sha256:bb"] })).toEqual({
        changes: true,
        replaces: [],
        deleteBeforeReplace: false,
      });
      expect(diff({ database: "gdpr_test" })).toMatchObject({ changes: true, replaces: ["database"] });
      expect(
        diff({
          password: "rotated",
          directory: "/y/migrations",
          runner: "/y/components/migration-runner.ts",
        }),
      ).toMatchObject({
        changes: false,
        replaces: [],
      });
    });
  },
);

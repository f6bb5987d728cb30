/**
 * Least privilege, proven by connecting: each login role, with its real
 * password from the stack's secret outputs, tries what it must and must not do.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  admin,
  asService,
  config,
  currentRoleAttributes,
  outputs,
  pgError,
  StackOutputs,
  superuser,
} from "./harness";

let out: StackOutputs;
const cfg = config();
const services = cfg.services;
const selfMigrating = services.filter((s) => s.profile === "self-migrating");
const managed = services.filter((s) => s.profile === "managed-schema");

beforeAll(() => {
  out = outputs();
});

describe("pulumi up on the test stack", () => {
  it("created the ADR's _test databases, service roles and login users (user a active)", async () => {
    expect(out.environment).toBe("test");
    expect(out.databaseNames).toEqual({
      gdpr: "gdpr_test",
      openfga: "openfga_test",
      keycloak: "keycloak_test",
    });
    expect(out.roles).toEqual({
      gdpr: "gdpr_test_app_a",
      openfga: "openfga_test_app_a",
      keycloak: "keycloak_test_app_a",
    });
    expect(out.serviceRoles).toEqual({
      gdpr: "gdpr_test_app",
      openfga: "openfga_test_app",
      keycloak: "keycloak_test_app",
    });
    const c = await superuser();
    const dbs = await c.query("SELECT datname FROM pg_database WHERE datname = ANY($1) ORDER BY 1", [
      Object.values(out.databaseNames),
    ]);
    await c.end();
    expect(dbs.rows.map((r) => r.datname)).toEqual(["gdpr_test", "keycloak_test", "openfga_test"]);
  });

  it("ran as an admin that is not a superuser (CREATEDB CREATEROLE only)", async () => {
    const c = await admin();
    const { rows } = await c.query(
      "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    );
    await c.end();
    expect(rows[0]).toEqual({
      rolsuper: false,
      rolcreatedb: true,
      rolcreaterole: true,
      rolreplication: false,
      rolbypassrls: false,
    });
  });
});

describe.each(services.map((s) => [s.name, s] as const))("login role of %s", (name, svc) => {
  it("connects to its own database as its active login user, acting as the service role", async () => {
    const c = await asService(name);
    const { rows } = await c.query("SELECT session_user AS s, current_user AS u, current_database() AS d");
    await c.end();
    expect(rows[0]).toEqual({ s: svc.loginUsers[0], u: svc.loginRole, d: svc.database });
  });

  it("is refused on every other service database and on postgres/template1", async () => {
    const others = [
      ...services.filter((o) => o.name !== name).map((o) => o.database),
      "postgres",
      "template1",
    ];
    for (const db of others) {
      const err = await pgError(async () => (await asService(name, db)).end());
      expect(err, `${svc.loginRole} on ${db}`).toBeDefined();
      expect(err!.message).toContain(`permission denied for database "${db}"`);
    }
  });

  it("has none of SUPERUSER, CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS, no membership but its service role, and its connection limit", async () => {
    const c = await asService(name);
    const attributes = await currentRoleAttributes(c);
    await c.end();
    expect(attributes).toEqual({
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolreplication: false,
      rolbypassrls: false,
      rolconnlimit: svc.connectionLimit,
      member_of: [svc.loginRole],
    });
  });

  it("cannot CREATE DATABASE or CREATE ROLE", async () => {
    const c = await asService(name);
    const db = await pgError(() => c.query("CREATE DATABASE sneaky_db"));
    const role = await pgError(() => c.query("CREATE ROLE sneaky_role"));
    await c.end();
    expect(db?.message).toBe("permission denied to create database");
    expect(role?.message).toBe("permission denied to create role");
  });
});

describe("schema privileges by profile", () => {
  it.each(selfMigrating.map((s) => [s.name] as const))(
    "self-migrating %s creates, uses and drops its own tables",
    async (name) => {
      const c = await asService(name);
      await c.query("CREATE TABLE e2e_probe (id int primary key)");
      await c.query("INSERT INTO e2e_probe VALUES (1)");
      const { rows } = await c.query(
        "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'e2e_probe'",
      );
      await c.query("DROP TABLE e2e_probe");
      await c.end();
      // The service role's, whichever login user created it.
      expect(rows[0].tableowner).toBe((out.serviceRoles as Record<string, string>)[name]);
    },
  );

  it.each(managed.map((s) => [s.name] as const))("managed-schema %s cannot create tables", async (name) => {
    const c = await asService(name);
    const err = await pgError(() => c.query("CREATE TABLE e2e_probe (id int)"));
    await c.end();
    expect(err?.message).toBe("permission denied for schema public");
  });

  it("no service reads another service's tables, even when connected with another's grant missing", async () => {
    // A table owned by openfga's role in openfga_test: keycloak cannot even
    // connect there, and PUBLIC holds nothing on the schema.
    const owner = await asService("openfga");
    await owner.query("CREATE TABLE e2e_secret (v text)");
    await owner.query("INSERT INTO e2e_secret VALUES ('openfga-only')");
    try {
      for (const other of services.filter((s) => s.name !== "openfga")) {
        const err = await pgError(async () => (await asService(other.name, "openfga_test")).end());
        expect(err?.message).toContain('permission denied for database "openfga_test"');
      }
      // Even a role that could connect (the admin) gets nothing from PUBLIC on the schema.
      const c = await admin("openfga_test");
      const { rows } = await c.query(
        "SELECT has_schema_privilege('public', 'public', 'USAGE') AS usage, has_schema_privilege('public', 'public', 'CREATE') AS create",
      );
      await c.end();
      expect(rows[0]).toEqual({ usage: false, create: false });
    } finally {
      await owner.query("DROP TABLE e2e_secret");
      await owner.end();
    }
  });

  it("PUBLIC has neither CONNECT nor TEMP on any service database", async () => {
    const c = await superuser();
    const { rows } = await c.query(
      `SELECT datname, has_database_privilege('public', datname, 'CONNECT') AS connect,
              has_database_privilege('public', datname, 'TEMP') AS temp
         FROM pg_database WHERE datname = ANY($1) ORDER BY 1`,
      [Object.values(out.databaseNames)],
    );
    await c.end();
    for (const r of rows) expect(r, r.datname).toMatchObject({ connect: false, temp: false });
    expect(rows).toHaveLength(services.length);
  });
});

/**
 * The layout the clouds get for pgaudit (components/database/service-database.ts):
 * the extension in a schema `pgaudit` the admin owns and no service may use.
 * The embedded server ships no pgaudit, so an event trigger of the same shape
 * as pgaudit's own (a SECURITY DEFINER function with search_path pg_catalog,
 * on ddl_command_end and sql_drop) stands in for it on a real server: a
 * service's DDL in its own schema still runs and still fires it, though the
 * service holds nothing on schema pgaudit, and the service cannot remove it.
 */
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, TestServer } from "./helpers/pg-server";
import { PGAUDIT_SCHEMA } from "../components/database/service-database";

describe("a DDL event trigger in schema pgaudit, as the clouds' pgaudit extension", () => {
  let server: TestServer;
  let superuser: Client;
  let service: Client;

  beforeAll(async () => {
    server = await startTestServer();
    const root = await server.client();
    // The stack's admin (CREATEDB CREATEROLE, as on the clouds) owns the database.
    await root.query("CREATE ROLE platform_admin LOGIN CREATEDB CREATEROLE PASSWORD 'admin-pw'");
    await root.query("CREATE ROLE billing_app LOGIN PASSWORD 'app-pw'");
    await root.query("CREATE DATABASE billing OWNER platform_admin");
    await root.end();

    // ServiceDatabase's statements: PUBLIC gets nothing, the service owns public.
    superuser = await server.client("billing");
    await superuser.query("REVOKE ALL ON DATABASE billing FROM PUBLIC");
    await superuser.query("GRANT CONNECT, TEMPORARY ON DATABASE billing TO billing_app");
    await superuser.query("ALTER SCHEMA public OWNER TO billing_app");
    await superuser.query("REVOKE ALL ON SCHEMA public FROM PUBLIC");

    // The program's schema, as the admin creates it (no owner given).
    const admin = await server.client("billing", "platform_admin", "admin-pw");
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${PGAUDIT_SCHEMA}"`);
    await admin.end();

    // CREATE EXTENSION pgaudit SCHEMA pgaudit, as the clouds run its script
    // (as a superuser): two SECURITY DEFINER event-trigger functions.
    await superuser.query(`
      CREATE TABLE ${PGAUDIT_SCHEMA}.seen (tag text, object text);
      CREATE FUNCTION ${PGAUDIT_SCHEMA}.audit_ddl_command_end() RETURNS event_trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = 'pg_catalog' AS $$
        BEGIN
          INSERT INTO ${PGAUDIT_SCHEMA}.seen
            SELECT command_tag, object_identity FROM pg_event_trigger_ddl_commands();
        END $$;
      CREATE EVENT TRIGGER audit_ddl_command_end ON ddl_command_end
        EXECUTE PROCEDURE ${PGAUDIT_SCHEMA}.audit_ddl_command_end();
      CREATE FUNCTION ${PGAUDIT_SCHEMA}.audit_sql_drop() RETURNS event_trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = 'pg_catalog' AS $$
        BEGIN
          INSERT INTO ${PGAUDIT_SCHEMA}.seen
            SELECT 'DROP', object_identity FROM pg_event_trigger_dropped_objects();
        END $$;
      CREATE EVENT TRIGGER audit_sql_drop ON sql_drop
        EXECUTE PROCEDURE ${PGAUDIT_SCHEMA}.audit_sql_drop();
    `);
    service = await server.client("billing", "billing_app", "app-pw");
  }, 120_000);

  afterAll(async () => {
    await service?.end();
    await superuser?.end();
    server?.stop();
  });

  it("leaves the service no right on schema pgaudit", async () => {
    const { rows } = await service.query(
      `SELECT has_schema_privilege($1, 'USAGE') AS usage, has_schema_privilege($1, 'CREATE') AS create`,
      [PGAUDIT_SCHEMA],
    );
    expect(rows[0]).toEqual({ usage: false, create: false });
    await expect(service.query(`SELECT * FROM ${PGAUDIT_SCHEMA}.seen`)).rejects.toThrow(
      `permission denied for schema ${PGAUDIT_SCHEMA}`,
    );
  });

  it("still runs the service's own DDL and audits it", async () => {
    await service.query("CREATE TABLE invoices (id bigint PRIMARY KEY)");
    await service.query("ALTER TABLE invoices ADD COLUMN total numeric");
    await service.query("DROP TABLE invoices");
    const { rows } = await superuser.query(`SELECT tag, object FROM ${PGAUDIT_SCHEMA}.seen ORDER BY 1, 2`);
    expect(rows).toEqual(
      expect.arrayContaining([
        { tag: "CREATE TABLE", object: "public.invoices" },
        { tag: "ALTER TABLE", object: "public.invoices" },
        { tag: "DROP", object: "public.invoices" },
      ]),
    );
  });

  it("cannot be turned off by the service", async () => {
    await expect(service.query("ALTER EVENT TRIGGER audit_ddl_command_end DISABLE")).rejects.toThrow(
      /must be owner of event trigger/,
    );
    await expect(service.query(`DROP SCHEMA ${PGAUDIT_SCHEMA} CASCADE`)).rejects.toThrow(
      /must be owner of schema/,
    );
  });
});

/**
 * A gdpr-style database on a throwaway test server, provisioned the way
 * ServiceDatabase does it (managed-schema profile) but without Pulumi:
 * a non-superuser admin (LOGIN CREATEDB CREATEROLE, like the clouds' admins)
 * creates a LOGIN role and a NOLOGIN owner role, creates the database (owned
 * by itself), revokes PUBLIC, grants CONNECT/TEMPORARY to the login role,
 * hands schema public to the owner role and gives the login role USAGE on it.
 * Like the postgresql provider, the admin keeps no membership in the owner
 * role: it grants itself the role for the ALTER ... OWNER and takes it back. Tests of the runner, the grants and
 * retention connect as these roles.
 */
import { randomBytes } from "node:crypto";
import { ClientConfig } from "pg";
import type { TestServer } from "./pg-server";

export const ADMIN_USER = "platform_admin";

export interface GdprDatabase {
  database: string;
  ownerRole: string;
  loginRole: string;
  adminPassword: string;
  loginPassword: string;
  /** Connection as the admin (default) or the login role. */
  connection(as?: "admin" | "login"): ClientConfig;
}

const adminPasswords = new WeakMap<TestServer, string>();

async function ensureAdmin(server: TestServer): Promise<string> {
  const known = adminPasswords.get(server);
  if (known) return known;
  const password = randomBytes(18).toString("base64url");
  const su = await server.client();
  try {
    await su.query(
      `CREATE ROLE ${ADMIN_USER} LOGIN CREATEDB CREATEROLE PASSWORD ${su.escapeLiteral(password)}`,
    );
  } finally {
    await su.end();
  }
  adminPasswords.set(server, password);
  return password;
}

export async function createGdprDatabase(server: TestServer, database: string): Promise<GdprDatabase> {
  const adminPassword = await ensureAdmin(server);
  const loginPassword = randomBytes(18).toString("base64url");
  const loginRole = `${database}_app`;
  const ownerRole = `${database}_owner`;
  const admin = await server.client("postgres", ADMIN_USER, adminPassword);
  try {
    await admin.query(
      `CREATE ROLE ${loginRole} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 25 PASSWORD ${admin.escapeLiteral(loginPassword)}`,
    );
    await admin.query(
      `CREATE ROLE ${ownerRole} NOLOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`,
    );
    await admin.query(
      `CREATE DATABASE ${database} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`,
    );
  } finally {
    await admin.end();
  }
  const inDb = await server.client(database, ADMIN_USER, adminPassword);
  try {
    await inDb.query(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC`);
    await inDb.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${database} TO ${loginRole}`);
    await inDb.query("BEGIN");
    await inDb.query(`GRANT ${ownerRole} TO CURRENT_USER`);
    await inDb.query(`ALTER SCHEMA public OWNER TO ${ownerRole}`);
    await inDb.query(`REVOKE ${ownerRole} FROM CURRENT_USER`);
    await inDb.query("COMMIT");
    await inDb.query(`REVOKE ALL ON SCHEMA public FROM PUBLIC`);
    await inDb.query(`GRANT USAGE ON SCHEMA public TO ${loginRole}`);
  } finally {
    await inDb.end();
  }
  return {
    database,
    ownerRole,
    loginRole,
    adminPassword,
    loginPassword,
    connection(as = "admin") {
      return {
        host: server.host,
        port: server.port,
        database,
        user: as === "admin" ? ADMIN_USER : loginRole,
        password: as === "admin" ? adminPassword : loginPassword,
      };
    },
  };
}

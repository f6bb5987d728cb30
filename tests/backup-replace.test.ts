/**
 * Restoring over a live database, asked for explicitly (make restore
 * REPLACE=<database>; scripts/backup/replace.ts), on a server the program
 * provisioned: the backup goes into a fresh database with its owners and
 * privileges, is verified, the erasures made since are re-applied, and only
 * then is it swapped in by name; the service's roles work on it as before,
 * the data it replaced is kept for the admin alone, and Pulumi finds nothing
 * to change.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../scripts/backup/manifest";
import { dumpOwners } from "../scripts/backup/replace";
import { backupCli, clientAs, pgClientBin } from "./helpers/backup-cli";
import { ProgramStack, sql, startProgramStack } from "./helpers/program-stack";

let stack: ProgramStack;
let pgClientBinDir: string;
/** The openfga backup the first replace swapped in. */
let firstOpenfgaId: string;

function cli(...args: string[]) {
  return backupCli(stack, { PG_CLIENT_BIN: pgClientBinDir }, args);
}

async function query(database: string, text: string): Promise<Record<string, unknown>[]> {
  const c = await stack.superuser(database);
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

/** Who owns what in schema public and who may do what: tables, sequences, functions, the schema, default privileges. */
async function ownershipAndPrivileges(database: string) {
  return {
    relations: await query(
      database,
      `SELECT relname, relkind, relowner::regrole::text AS owner, relacl::text AS acl
         FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r','p','S','v','m')
        ORDER BY relname`,
    ),
    functions: await query(
      database,
      `SELECT proname, proowner::regrole::text AS owner, proacl::text AS acl
         FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY proname`,
    ),
    schema: await query(
      database,
      "SELECT nspowner::regrole::text AS owner, nspacl::text AS acl FROM pg_namespace WHERE nspname = 'public'",
    ),
    defaults: await query(
      database,
      `SELECT defaclrole::regrole::text AS role, defaclobjtype AS type, defaclacl::text AS acl
         FROM pg_default_acl ORDER BY 1, 2`,
    ),
    database: await query(
      "postgres",
      `SELECT datdba::regrole::text AS owner, datacl::text AS acl FROM pg_database WHERE datname = '${database}'`,
    ),
  };
}

beforeAll(async () => {
  pgClientBinDir = pgClientBin();
  stack = await startProgramStack();
  const uris = stack.outputs.connectionUris;
  await sql(
    clientAs(stack, uris.gdpr),
    "INSERT INTO user_profiles (user_id, username) VALUES ('u1', 'ada'), ('u2', 'grace')",
  );
  await sql(
    clientAs(stack, uris.openfga),
    "CREATE TABLE tuple (id bigserial PRIMARY KEY, object text)",
    "INSERT INTO tuple (object) VALUES ('doc:1'), ('doc:2')",
  );
}, 600_000);

afterAll(() => stack?.stop());

describe("make restore REPLACE=<database>", () => {
  it("reads the owners of a dump from its table of contents", () => {
    const toc = [
      ";",
      "; Archive created at 2026-12-02 05:00:00 UTC",
      ";     dbname: gdpr_test",
      "215; 1259 16390 TABLE public user_profiles gdpr_test_owner",
      "3380; 0 0 ACL - SCHEMA public gdpr_test_owner",
      "3381; 826 16400 DEFAULT ACL public DEFAULT PRIVILEGES FOR TABLES gdpr_test_owner",
      "216; 1259 16395 SEQUENCE public tuple_id_seq openfga_test",
      "3379; 0 0 COMMENT - EXTENSION plpgsql -",
      "",
    ].join("\n");
    expect(dumpOwners(toc)).toEqual(["gdpr_test_owner", "openfga_test"]);
  });

  it("refuses a name that is not the service's database, and INTO with it, before anything changes", () => {
    const wrong = cli("restore", stack.name, "--service", "gdpr", "--replace", "gdpr");
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toBe(
      'restore: REPLACE "gdpr" is not gdpr\'s database: give REPLACE=gdpr_test to restore over it\n',
    );
    const both = cli("restore", stack.name, "--service", "gdpr", "--replace", "gdpr_test", "--into", "x");
    expect(both.status).toBe(2);
    expect(both.stderr).toContain("INTO and REPLACE do not go together");
    const intoLive = cli("restore", stack.name, "--service", "gdpr", "--into", "gdpr_test");
    expect(intoLive.status).toBe(2);
    expect(intoLive.stderr).toContain("to restore over it, give REPLACE=gdpr_test");
  });

  it("swaps the verified backup in: later rows gone, later erasures re-applied, the roles' privileges as before", async () => {
    const before = {
      gdpr: await ownershipAndPrivileges("gdpr_test"),
      openfga: await ownershipAndPrivileges("openfga_test"),
    };
    const backup = cli("backup", stack.name, "--service", "gdpr");
    expect(backup.status, backup.stderr).toBe(0);
    const openfgaBackup = cli("backup", stack.name, "--service", "openfga");
    expect(openfgaBackup.status).toBe(0);
    firstOpenfgaId = /backup (\d{8}T\d{6}Z)/.exec(openfgaBackup.stdout)![1];
    const id = /backup (\d{8}T\d{6}Z)/.exec(backup.stdout)![1];
    // After the backup: a new profile, an erasure, a new tuple; and the application still connected.
    const uris = stack.outputs.connectionUris;
    await sql(
      clientAs(stack, uris.gdpr),
      "INSERT INTO user_profiles (user_id, username) VALUES ('u3', 'alan')",
    );
    await sql(clientAs(stack, uris.gdpr), "DELETE FROM user_profiles WHERE user_id = 'u1'");
    const app = await clientAs(stack, uris.openfga);
    app.on("error", () => undefined);
    await app.query("INSERT INTO tuple (object) VALUES ('doc:3')");

    const gdpr = cli("restore", stack.name, "--service", "gdpr", "--replace", "gdpr_test");
    expect(gdpr.stderr).toBe("");
    expect(gdpr.status).toBe(0);
    const replaced = `gdpr_test_replaced_${id.toLowerCase()}`;
    expect(gdpr.stdout).toContain(`gdpr_test: backup ${id} restored over gdpr_test; verified: `);
    expect(gdpr.stdout).toContain(
      "gdpr_test: re-applied 1 GDPR erasure recorded after the backup (1 profile deleted)",
    );
    expect(gdpr.stdout).toContain(`the data it replaced is in ${replaced} (only the admin can connect)`);
    const openfga = cli("restore", stack.name, "--service", "openfga", "--replace", "openfga_test");
    expect(openfga.status, openfga.stderr).toBe(0);

    // The backup's rows, minus the erased person; the rows written after it are in the replaced copy.
    expect(await query("gdpr_test", "SELECT user_id FROM user_profiles ORDER BY 1")).toEqual([
      { user_id: "u2" },
    ]);
    expect(await query(replaced, "SELECT user_id FROM user_profiles ORDER BY 1")).toEqual([
      { user_id: "u2" },
      { user_id: "u3" },
    ]);
    expect(await query("openfga_test", "SELECT object FROM tuple ORDER BY 1")).toEqual([
      { object: "doc:1" },
      { object: "doc:2" },
    ]);
    // The application's session was on the database that was replaced: ended, and a new one sees the backup.
    await expect(app.query("SELECT 1")).rejects.toThrow();
    await app.end().catch(() => undefined);

    // Owners and privileges exactly as before, so the roles work as they did.
    expect(await ownershipAndPrivileges("gdpr_test")).toEqual(before.gdpr);
    expect(await ownershipAndPrivileges("openfga_test")).toEqual(before.openfga);
    await sql(
      clientAs(stack, uris.gdpr),
      "INSERT INTO user_profiles (user_id, username) VALUES ('u4', 'barbara')",
    );
    await sql(clientAs(stack, uris.openfga), "INSERT INTO tuple (object) VALUES ('doc:4')");
    await sql(clientAs(stack, stack.outputs.backupUris.gdpr), "SELECT count(*) FROM user_profiles");
    // The replaced data: the admin's alone.
    await expect(
      sql(clientAs(stack, uris.gdpr.replace(/\/gdpr_test\?/, `/${replaced}?`)), "SELECT 1"),
    ).rejects.toThrow(/permission denied for database/);
    // And the admin was given back no standing membership in the service's roles.
    const admin = await stack.admin();
    try {
      const { rows } = await admin.query(
        `SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
          WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND m.grantor = m.member`,
      );
      expect(rows).toEqual([]);
    } finally {
      await admin.end();
    }
  });

  it("a backup that does not match its manifest is not swapped in: the live database stays as it is", async () => {
    const backup = cli("backup", stack.name, "--service", "openfga");
    expect(backup.status, backup.stderr).toBe(0);
    const id = /backup (\d{8}T\d{6}Z)/.exec(backup.stdout)![1];
    // The manifest says one row more than the dump holds.
    const file = join(stack.root, ".local", "backups", stack.name, "openfga_test", id, "manifest.json");
    const manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
    manifest.tables[0].rows += 1;
    writeFileSync(file, JSON.stringify(manifest));
    const live = await query("openfga_test", "SELECT object FROM tuple ORDER BY 1");

    const res = cli("restore", stack.name, "--service", "openfga", "--replace", "openfga_test");
    expect(res.status).toBe(1);
    expect(res.stdout).toContain(`restored into openfga_test_restoring_${id.toLowerCase()}; NOT verified:`);
    expect(res.stdout).toContain("openfga_test: not replaced");
    expect(await query("openfga_test", "SELECT object FROM tuple ORDER BY 1")).toEqual(live);
    expect(
      await query(
        "postgres",
        `SELECT datname FROM pg_database WHERE datname LIKE 'openfga_test_re%' ORDER BY 1`,
      ),
    ).toEqual([
      { datname: `openfga_test_replaced_${firstOpenfgaId.toLowerCase()}` },
      { datname: `openfga_test_restoring_${id.toLowerCase()}` },
    ]);
  });

  it("a live database that is gone is not replaced: make up recreates it first", async () => {
    // keycloak's database gone behind Pulumi's back (renamed away here, put back after), with a backup of it.
    expect(cli("backup", stack.name, "--service", "keycloak").status).toBe(0);
    const su = await stack.superuser("postgres");
    try {
      await su.query("ALTER DATABASE keycloak_test RENAME TO keycloak_test_gone");
      const res = cli("restore", stack.name, "--service", "keycloak", "--replace", "keycloak_test");
      expect(res.status).toBe(2);
      expect(res.stderr).toBe(
        `restore: keycloak_test does not exist, so there is nothing to replace: \`make up STACK=${stack.name}\` ` +
          "creates it (empty, with its roles and grants), then REPLACE restores into it\n",
      );
      expect(
        (await su.query("SELECT 1 FROM pg_database WHERE datname LIKE 'keycloak_test_restoring_%'")).rowCount,
      ).toBe(0);
    } finally {
      await su.query("ALTER DATABASE keycloak_test_gone RENAME TO keycloak_test");
      await su.end();
    }
  });

  it("Pulumi finds the replaced databases as it manages them: refresh changes nothing", async () => {
    const res = await stack.exec("scripts/pulumi.sh", [
      stack.name,
      "refresh",
      "--yes",
      "--skip-preview",
      "--expect-no-changes",
    ]);
    expect(res.code, res.output).toBe(0);
  });
});

/**
 * Restoring over a live database, when asked for explicitly (make restore
 * REPLACE=<database>). The backup is never written into the live database:
 * it is restored into a fresh one with its owners and privileges as they were
 * (pg_restore without --no-owner/--no-acl), the live database's own CONNECT
 * and TEMP grants copied onto it, verified against the manifest and the GDPR
 * erasures re-applied; only then are the two swapped by name, in one
 * transaction of renames. The data it replaced stays, renamed
 * `<database>_replaced_<id>`, reachable by the admin alone.
 *
 * The admin is not a superuser and, since PostgreSQL 16, holds ADMIN but not
 * SET on the roles it created: to give objects back to their owners it grants
 * itself the owning roles for the restore and takes them back after, as the
 * migration runner does for one transaction (components/schema/migration-runner.ts).
 */
import type { Client } from "pg";
import { runTool } from "./take";

/** The roles that own something in a custom-format dump (its table of contents' owner column). */
export function dumpOwners(tocList: string): string[] {
  const owners = new Set<string>();
  for (const line of tocList.split("\n")) {
    if (line.startsWith(";") || !line.trim()) continue;
    // `<id>; <tableoid> <oid> <TYPE ...> <schema> <name> <owner>`: the owner is the last field, or `-`.
    const owner = line.trim().split(/\s+/).pop() as string;
    if (owner !== "-") owners.add(owner);
  }
  return [...owners].sort();
}

/** The owners `pg_restore --list` names for `dump`. */
export function ownersOf(pgRestore: string, dump: string): string[] {
  return dumpOwners(runTool(pgRestore, ["--list", dump]));
}

/**
 * Grants the connected admin the roles in `roles` it cannot yet act as
 * (SET; membership before PostgreSQL 16); returns those granted, to take
 * back with `dropMemberships`. A role that does not exist is an error naming it.
 */
export async function grantMemberships(admin: Client, roles: readonly string[]): Promise<string[]> {
  const granted: string[] = [];
  try {
    for (const role of roles) {
      const { rows } = await admin.query<{ exists: boolean; can_set: boolean; superuser: boolean }>(
        `SELECT o.oid IS NOT NULL AS exists, r.rolsuper AS superuser,
                o.oid IS NOT NULL AND pg_has_role(current_user, o.oid,
                  CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END) AS can_set
           FROM pg_roles r LEFT JOIN pg_roles o ON o.rolname = $1
          WHERE r.rolname = current_user`,
        [role],
      );
      if (!rows[0]?.exists) {
        throw new Error(
          `the backup's objects belong to role "${role}", which this server does not have: run make up for the stack first`,
        );
      }
      if (rows[0].superuser || rows[0].can_set) continue;
      await admin.query(`GRANT ${admin.escapeIdentifier(role)} TO CURRENT_USER`);
      granted.push(role);
    }
  } catch (err) {
    await dropMemberships(admin, granted);
    throw err;
  }
  return granted;
}

/** Takes back what grantMemberships granted (each REVOKE tried). */
export async function dropMemberships(admin: Client, granted: readonly string[]): Promise<void> {
  for (const role of granted) {
    await admin.query(`REVOKE ${admin.escapeIdentifier(role)} FROM CURRENT_USER`).catch(() => undefined);
  }
}

/** What `database`'s owner granted on it, to whom (null: PUBLIC). */
async function databaseGrants(
  admin: Client,
  database: string,
): Promise<{ grantee: string | null; privilege: string }[]> {
  const { rows } = await admin.query<{ grantee: string | null; privilege: string }>(
    `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee,
            a.privilege_type AS privilege
       FROM pg_database d, aclexplode(d.datacl) a
      WHERE d.datname = $1 AND a.grantee <> d.datdba`,
    [database],
  );
  return rows;
}

/** The live database's privileges (CONNECT, TEMP, …) granted the same on `to`; PUBLIC's too. */
export async function copyDatabaseGrants(admin: Client, from: string, to: string): Promise<void> {
  const rows = await databaseGrants(admin, from);
  await admin.query(`REVOKE ALL ON DATABASE ${admin.escapeIdentifier(to)} FROM PUBLIC`);
  for (const r of rows) {
    const grantee = r.grantee === null ? "PUBLIC" : admin.escapeIdentifier(r.grantee);
    await admin.query(`GRANT ${r.privilege} ON DATABASE ${admin.escapeIdentifier(to)} TO ${grantee}`);
  }
}

/**
 * Swaps `copy` in for `live`: their sessions ended, `live` renamed to
 * `replaced` and shut to everyone but the admin, `copy` renamed to `live`,
 * the renames in one transaction. A session that reconnects in between makes
 * the rename fail with PostgreSQL's "being accessed by other users", and
 * nothing is renamed.
 */
export async function swapDatabases(
  admin: Client,
  live: string,
  copy: string,
  replaced: string,
): Promise<void> {
  const q = (n: string) => admin.escapeIdentifier(n);
  await admin.query(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()",
    [[live, copy]],
  );
  await admin.query("BEGIN");
  try {
    await admin.query(`ALTER DATABASE ${q(live)} RENAME TO ${q(replaced)}`);
    await admin.query(`ALTER DATABASE ${q(copy)} RENAME TO ${q(live)}`);
    await admin.query("COMMIT");
  } catch (err) {
    await admin.query("ROLLBACK").catch(() => undefined);
    throw new Error(
      `${live} was not replaced (${(err as Error).message}): stop the service's pods, then run the restore again`,
      { cause: err },
    );
  }
  // The replaced data: the admin's alone, until it is dropped.
  // PUBLIC always (a NULL ACL grants it CONNECT by default), then every role granted something.
  const grantees = new Set(
    (await databaseGrants(admin, replaced)).flatMap((g) => (g.grantee ? [g.grantee] : [])),
  );
  await admin.query(`REVOKE ALL ON DATABASE ${q(replaced)} FROM PUBLIC`);
  for (const grantee of grantees)
    await admin.query(`REVOKE ALL ON DATABASE ${q(replaced)} FROM ${q(grantee)}`);
}

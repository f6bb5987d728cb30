/**
 * `make backup` / `make restore` (scripts/backup.ts) on a server the program
 * itself provisioned (tests/helpers/program-stack.ts): the three databases are
 * backed up as their backup roles to the stack's local destination, with a
 * manifest (tables, row counts, checksums) read in pg_dump's snapshot; a
 * restore goes into a fresh database, holds what the backup held (not what was
 * written since) and is verified against the manifest; a manifest that does
 * not match is reported; the live database is never a restore target.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../scripts/backup/manifest";
import { compareTables } from "../scripts/backup/manifest";
import { parseBackupArgs } from "../scripts/backup";
import { backupCli, clientAs, pgClientBin } from "./helpers/backup-cli";
import { MIGRATIONS, ProgramStack, sql, startProgramStack } from "./helpers/program-stack";

/** gdpr's rows: the three written below plus one version-table row per migration file. */
const GDPR_ROWS = 3 + MIGRATIONS.length;

let stack: ProgramStack;
let pgClientBinDir: string;

/** scripts/backup.ts in the scratch checkout, as `make backup` / `make restore` run it. */
function cli(...args: string[]) {
  return backupCli(stack, { PG_CLIENT_BIN: pgClientBinDir }, args);
}

function manifests(database: string): Manifest[] {
  const dir = join(stack.root, ".local", "backups", stack.name, database);
  return readdirSync(dir)
    .sort()
    .map((id) => JSON.parse(readFileSync(join(dir, id, "manifest.json"), "utf8")) as Manifest);
}

async function rows(database: string, query: string): Promise<unknown[]> {
  const c = await stack.superuser(database);
  try {
    return (await c.query(query)).rows;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  pgClientBinDir = pgClientBin();
  stack = await startProgramStack();
  const uris = stack.outputs.connectionUris;
  const asUri = (uri: string) => clientAs(stack, uri);
  await sql(
    asUri(uris.gdpr),
    "INSERT INTO user_profiles (user_id, username, email) VALUES ('u1', 'ada', 'ada@example.org'), ('u2', 'bob', NULL)",
    "INSERT INTO consent_records (consent_id, user_id, consent_type, granted) VALUES ('c1', 'u1', 'marketing', true)",
  );
  // The self-migrating services create their own tables, as OpenFGA and Keycloak do.
  await sql(
    asUri(uris.openfga),
    "CREATE TABLE tuple (id bigserial PRIMARY KEY, object text NOT NULL, payload bytea, note text)",
    "INSERT INTO tuple (object, payload, note) VALUES ('doc:1', '\\x00ff', 'é'), ('doc:2', NULL, NULL)",
  );
  await sql(
    asUri(uris.keycloak),
    "CREATE TABLE realm (id text PRIMARY KEY)",
    "INSERT INTO realm VALUES ('master')",
  );
}, 300_000);

afterAll(() => stack?.stop());

describe("make backup and make restore, on a real server", () => {
  it("backs up every database as its backup role, with a manifest of tables, row counts and checksums", () => {
    const res = cli("backup", stack.name);
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(
      new RegExp(
        `^gdpr_test: backup \\d{8}T\\d{6}Z \\(7 tables, ${GDPR_ROWS} rows, \\d+ bytes\\) in .*kept 7y until `,
        "m",
      ),
    );
    expect(res.stdout).toMatch(/^openfga_test: backup .* \(1 tables, 2 rows, .*kept 30d until /m);
    expect(res.stdout).toMatch(/^keycloak_test: backup .* \(1 tables, 1 rows, .*kept 30d until /m);

    const [gdpr] = manifests("gdpr_test");
    expect(gdpr.retentionDays).toBe(2557);
    expect(gdpr.pgDump).toMatch(/^pg_dump \(PostgreSQL\) 17\./);
    expect(gdpr.dump.format).toBe("custom");
    expect(gdpr.tables.find((t) => t.name === "user_profiles")).toMatchObject({ schema: "public", rows: 2 });
    expect(gdpr.tables.find((t) => t.name === "audit_logs")).toMatchObject({ rows: 0, checksum: "" });
    const [openfga] = manifests("openfga_test");
    expect(openfga.tables).toEqual([
      { schema: "public", name: "tuple", rows: 2, checksum: expect.stringMatching(/^[0-9a-f]{32}$/) },
    ]);
  });

  it("restores into a fresh database what the backup held, not what was written since, and says it verified", async () => {
    await sql(stack.superuser("openfga_test"), "INSERT INTO tuple (object) VALUES ('doc:3')");
    const [m] = manifests("openfga_test");
    const res = cli("restore", stack.name, "--service", "openfga");
    expect(res.stderr).toBe("");
    const into = `openfga_test_restore_${m.id.toLowerCase()}`;
    expect(res.stdout).toBe(
      `openfga_test: backup ${m.id} restored into ${into}; verified: 1 tables, 2 rows, every row count and checksum matches the manifest\n`,
    );
    expect(res.status).toBe(0);
    expect(await rows(into, "SELECT object, payload, note FROM tuple ORDER BY id")).toEqual([
      { object: "doc:1", payload: Buffer.from([0, 255]), note: "é" },
      { object: "doc:2", payload: null, note: null },
    ]);
    // A restored copy holds the same data as the live one: PUBLIC may not connect.
    expect(
      await rows("postgres", `SELECT has_database_privilege('public', '${into}', 'CONNECT') AS c`),
    ).toEqual([{ c: false }]);
    // The same database again is not fresh: refused.
    const again = cli("restore", stack.name, "--service", "openfga", "--backup", m.id);
    expect(again.status).toBe(2);
    expect(again.stderr).toBe(`restore: INTO ${into} exists already: a restore needs a fresh database\n`);
  });

  it("restores gdpr and keycloak into databases named by INTO, verified", async () => {
    const g = cli("restore", stack.name, "--service", "gdpr", "--into", "gdpr_drill");
    expect(g.stdout).toMatch(
      new RegExp(`^gdpr_test: backup \\S+ restored into gdpr_drill; verified: 7 tables, ${GDPR_ROWS} rows`),
    );
    expect(g.status).toBe(0);
    expect(await rows("gdpr_drill", "SELECT user_id FROM user_profiles ORDER BY 1")).toEqual([
      { user_id: "u1" },
      { user_id: "u2" },
    ]);
    const k = cli("restore", stack.name, "--service", "keycloak", "--into", "keycloak_drill");
    expect(k.status).toBe(0);
    expect(await rows("keycloak_drill", "SELECT id FROM realm")).toEqual([{ id: "master" }]);
  });

  it("never restores over the live database, and refuses a bad id before touching anything", async () => {
    const live = cli("restore", stack.name, "--service", "gdpr", "--into", "gdpr_test");
    expect(live.status).toBe(2);
    expect(live.stderr).toMatch(/^restore: INTO gdpr_test is a live database of stack "scratch-/);
    expect(() => parseBackupArgs(["restore", "test", "--service", "gdpr", "--backup", "latest"])).toThrow(
      'BACKUP "latest" is not a backup id (YYYYMMDDTHHMMSSZ)',
    );
    expect(() => parseBackupArgs(["restore", "test", "--service", "gdpr", "--into", "Drop;"])).toThrow(
      'INTO "Drop;" is not a lowercase PostgreSQL identifier',
    );
    expect(await rows("gdpr_test", "SELECT count(*)::int AS n FROM user_profiles")).toEqual([{ n: 2 }]);
  });

  it("reports a restore that does not match its manifest, table by table, and exits non-zero", () => {
    const dir = join(stack.root, ".local", "backups", stack.name, "keycloak_test");
    const [id] = readdirSync(dir);
    const file = join(dir, id, "manifest.json");
    const m = JSON.parse(readFileSync(file, "utf8")) as Manifest;
    m.tables[0].rows = 5;
    writeFileSync(file, JSON.stringify(m));
    const res = cli("restore", stack.name, "--service", "keycloak", "--into", "keycloak_bad");
    expect(res.stdout).toContain("NOT verified:\n  - public.realm: 1 rows, manifest 5\n");
    expect(res.status).toBe(1);
  });

  it("compares tables: missing, extra, counts and checksums", () => {
    const t = (name: string, rows: number, checksum: string) => ({ schema: "public", name, rows, checksum });
    expect(
      compareTables(
        [t("a", 1, "x"), t("b", 2, "y"), t("c", 0, "")],
        [t("a", 1, "z"), t("c", 0, ""), t("d", 1, "w")],
      ),
    ).toEqual([
      "public.a: checksum z, manifest x",
      "public.b: missing (manifest: 2 rows)",
      "public.d: not in the manifest",
    ]);
  });
});

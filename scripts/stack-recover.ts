/**
 * `make recover STACK=<stack> [ARGS=--cancel]`: brings a stack back after an
 * update that died midway (the engine killed, a runner lost), so the next
 * `up` converges. scripts/pulumi.sh runs it by itself (--auto) before
 * up/refresh/destroy of a local stack when it finds a lock or pending
 * operations, so `make up` after a crash needs nothing by hand.
 *
 * 1. The lock. File backend (the local stacks): each lock names its owner's
 *    pid and host. A lock of this host whose pid is no longer a pulumi process
 *    is released (`pulumi cancel`); a live one is left (an update is running);
 *    a lock from another host is released only with --cancel. Other backends
 *    (Pulumi Cloud, buckets): the owner cannot be seen from here, so only
 *    --cancel releases it, after you made sure no update runs (deploy.yml runs
 *    one at a time per stack).
 * 2. Orphaned plugins (local): provider processes of this checkout whose
 *    engine is gone are stopped.
 * 3. Pending operations (lib/recover-plan.ts): pending creates of roles and
 *    databases are recorded with their name as id (`pulumi stack import`) and
 *    read back by one `pulumi refresh`: adopted when the server has them,
 *    dropped (so created again) when it does not; other pending creates are
 *    cleared (created again, harmlessly); pending updates and deletes are
 *    settled by the same refresh. Then it checks that nothing is pending.
 *
 *   usage: stack-recover.ts <stack> [--cancel] [--auto] [--dry-run]
 *
 * Exit 0 when the stack is ready for `up`; 1 when a lock is left (an update is
 * running, or the owner is unknown: use --cancel); 2 on an error. With --auto
 * it always exits 0 and leaves the verdict to the command that follows.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ExportedStack,
  isEnginePlugin,
  isPulumiCli,
  LockInfo,
  lockVerdict,
  planPending,
  settledState,
} from "./lib/recover-plan";

const ROOT = resolve(__dirname, "..");
const PROJECT = "platform-databases";

function log(message: string): void {
  process.stderr.write(`==> recover: ${message}\n`);
}

/** scripts/pulumi.sh without its own recovery hook. */
function pulumi(stack: string, args: string[]): { status: number | null; stdout: string; output: string } {
  const res = spawnSync(join(ROOT, "scripts/pulumi.sh"), [stack, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, PLATFORM_RECOVER: "off" },
    maxBuffer: 256 * 1024 * 1024,
  });
  const output = `${res.stdout ?? ""}${res.stderr ?? ""}${res.error ? res.error.message : ""}`;
  return { status: res.status, stdout: res.stdout ?? "", output };
}

/** The file backend's directory, or undefined for another backend. */
export function fileBackendDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = env.PULUMI_BACKEND_URL;
  if (!url) return env.PULUMI_ACCESS_TOKEN ? undefined : join(ROOT, ".local/state");
  if (!url.startsWith("file://")) return undefined;
  const path = url.replace(/\?.*$/, "");
  return path === "file://~" ? join(process.env.HOME ?? "", ".pulumi") : fileURLToPath(path);
}

/** The stack's lock files (any layout: locks/<project>/<stack> or locks/organization/<project>/<stack>). */
export function lockFiles(backendDir: string, stack: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 4 || !existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name.endsWith(".json") && dir.endsWith(`/${PROJECT}/${stack}`)) found.push(p);
    }
  };
  walk(join(backendDir, ".pulumi", "locks"), 0);
  return found;
}

function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}

/** A running pulumi CLI with this pid (a reused pid of another program does not count). */
export function isPulumiProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const argv = argvOf(pid);
  return argv.length === 0 ? true : isPulumiCli(argv);
}

/** Plugin processes started from this checkout whose engine (a pulumi ancestor) is gone. */
export function orphanedPlugins(root = ROOT): number[] {
  if (!existsSync("/proc")) return [];
  const orphans: number[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    if (cwd !== root || !isEnginePlugin(argvOf(pid))) continue;
    let ancestor = parentOf(pid);
    let engine = false;
    for (let hops = 0; ancestor > 1 && hops < 6; hops++) {
      if (isPulumiCli(argvOf(ancestor))) {
        engine = true;
        break;
      }
      ancestor = parentOf(ancestor);
    }
    if (!engine) orphans.push(pid);
  }
  return orphans;
}

interface Options {
  stack: string;
  cancel: boolean;
  auto: boolean;
  dryRun: boolean;
}

/** Returns the exit code (see the header). */
export function recover(opts: Options): number {
  const { stack } = opts;
  const backend = fileBackendDir();

  // 1. The lock.
  if (backend) {
    const files = lockFiles(backend, stack);
    const host = hostname();
    const locks = files.map((f) => ({ file: f, lock: JSON.parse(readFileSync(f, "utf8")) as LockInfo }));
    const verdicts = locks.map((l) => ({ ...l, verdict: lockVerdict(l.lock, host, isPulumiProcess) }));
    const live = verdicts.filter((v) => v.verdict === "live");
    const foreign = verdicts.filter((v) => v.verdict === "foreign");
    for (const v of live)
      log(`stack ${stack} is being updated by pulumi (pid ${v.lock.pid}); its lock is left alone`);
    if (live.length > 0) return 1;
    if (foreign.length > 0 && !opts.cancel) {
      for (const v of foreign) {
        log(
          `stack ${stack} is locked by ${v.lock.username ?? "?"}@${v.lock.hostname} (pid ${v.lock.pid}, ${v.lock.timestamp ?? "?"}), another host: make sure that update is over, then run make recover STACK=${stack} ARGS=--cancel`,
        );
      }
      return 1;
    }
    if (verdicts.length > 0) {
      for (const v of verdicts) {
        log(
          `releasing the lock of pulumi pid ${v.lock.pid} on ${v.lock.hostname} (${v.lock.timestamp ?? "?"}): ${v.verdict === "dead" ? "that process is gone" : "--cancel"}`,
        );
      }
      if (!opts.dryRun) {
        const res = pulumi(stack, ["cancel", "--yes"]);
        if (res.status !== 0) throw new Error(`pulumi cancel failed:\n${res.output}`);
      }
      // 2. What the dead engine left running.
      for (const pid of orphanedPlugins()) {
        log(`stopping orphaned plugin pid ${pid} (${argvOf(pid).join(" ").slice(0, 120)})`);
        if (!opts.dryRun) {
          try {
            process.kill(pid, "SIGTERM");
          } catch {
            // already gone
          }
        }
      }
    }
  } else if (opts.cancel) {
    log(`cancelling any update of stack ${stack} in progress (pulumi cancel)`);
    if (!opts.dryRun) {
      const res = pulumi(stack, ["cancel", "--yes"]);
      if (res.status !== 0 && !/no update|not currently|not in progress/i.test(res.output)) {
        throw new Error(`pulumi cancel failed:\n${res.output}`);
      }
    }
  }

  // 3. Pending operations.
  const exported = pulumi(stack, ["stack", "export"]);
  if (exported.status !== 0) {
    if (/no stack named|not found/i.test(exported.output)) return 0; // nothing deployed yet
    throw new Error(`pulumi stack export failed:\n${exported.output}`);
  }
  const state = JSON.parse(exported.stdout) as ExportedStack;
  const pending = state.deployment.pending_operations ?? [];
  if (pending.length === 0) return 0;
  const plan = planPending(pending);
  const name = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
  log(`${pending.length} pending operation(s) from an interrupted update:`);
  for (const i of plan.imports)
    log(`  ${name(i.urn)}: adopt ${i.id} if the server has it, else create it again`);
  for (const u of plan.clears) log(`  ${name(u)}: create again (harmless if it exists)`);
  for (const u of plan.settles) log(`  ${name(u)}: read back from the server (refresh)`);
  if (opts.dryRun) return 0;
  const dir = mkdtempSync(join(tmpdir(), "stack-recover-"));
  try {
    const file = join(dir, "state.json");
    writeFileSync(file, JSON.stringify(settledState(state, plan)), { mode: 0o600 });
    const imported = pulumi(stack, ["stack", "import", "--file", file]);
    if (imported.status !== 0) throw new Error(`pulumi stack import failed:\n${imported.output}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const res = pulumi(stack, ["refresh", "--yes", "--skip-preview"]);
  if (res.status !== 0) throw new Error(`pulumi refresh failed:\n${res.output}`);
  const after = JSON.parse(pulumi(stack, ["stack", "export"]).stdout).deployment?.pending_operations ?? [];
  if (after.length > 0) throw new Error(`${after.length} operation(s) still pending after the refresh`);
  log(`stack ${stack} is settled: no lock, nothing pending`);
  return 0;
}

function parseArgs(argv: readonly string[]): Options {
  const [stack, ...flags] = argv;
  if (!stack || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(stack)) throw new Error("a stack name is required");
  const known = ["--cancel", "--auto", "--dry-run"];
  for (const f of flags) if (!known.includes(f)) throw new Error(`unknown argument ${JSON.stringify(f)}`);
  return {
    stack,
    cancel: flags.includes("--cancel"),
    auto: flags.includes("--auto"),
    dryRun: flags.includes("--dry-run"),
  };
}

if (require.main === module) {
  let opts: Options | undefined;
  try {
    opts = parseArgs(process.argv.slice(2));
    const code = recover(opts);
    process.exit(opts.auto ? 0 : code);
  } catch (err) {
    console.error(`recover: ${(err as Error).message}`);
    if (!opts) console.error("usage: stack-recover.ts <stack> [--cancel] [--auto] [--dry-run]");
    process.exit(opts?.auto ? 0 : 2);
  }
}

/**
 * The local control plane's processes (scripts/local-cluster.ts): started
 * detached with their output in a log, recognised by pid and binary, awaited
 * on a readiness condition, and failed at once (with the log's tail) when the
 * process exits instead.
 */
import { ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";

/** Whether `pid` is a live process of `binary` (a recycled pid of another program is not). */
export function alive(pid: number | undefined, binary: string): boolean {
  if (!pid) return false;
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
    const status = readFileSync(`/proc/${pid}/stat`, "utf8");
    return argv0.endsWith(`/${binary}`) && !/^\d+ \(.*\) Z/.test(status);
  } catch {
    return false;
  }
}

function startProcess(bin: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, "a");
  const child = spawn(bin, args, { detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  // A binary that cannot start (missing, not executable) has no pid: the caller's
  // wait then reports it exited, with its log.
  child.on("error", (err) => writeFileSync(logFile, `${bin}: ${err.message}\n`, { flag: "a" }));
  child.unref();
  return child;
}

/** Polls `check` until it returns true; fails after `timeoutMs`, or at once when `failed` says why. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  failed: () => string | undefined,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = failed();
    if (why) throw new Error(`${what}: ${why}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tail(file: string, lines = 30): string {
  return existsSync(file) ? readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "";
}

/** The status of a GET to a loopback endpoint serving its own self-signed certificate (a health check). */
export function selfSignedStatus(url: string): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 5_000 }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: timed out`)));
    req.on("error", fail);
    req.end();
  });
}

export interface ControlPlaneProcess {
  /** The binary's file name in the tool's directory (also how its live pid is recognised). */
  binary: string;
  args: string[];
  logFile: string;
  /** What is logged when it is started. */
  starting: string;
  /** What it is ready for, and the check that says so. */
  ready: { what: string; check: () => Promise<boolean> };
}

/**
 * Starts `proc` from `bin` unless `pid` is already a live process of it,
 * records the new pid with `savePid`, then waits until it is ready; fails with
 * its log's tail when it exits first.
 */
export async function ensureRunning(
  bin: string,
  proc: ControlPlaneProcess,
  pid: number | undefined,
  savePid: (pid: number | undefined) => void,
  log: (message: string) => void,
): Promise<void> {
  let current = pid;
  if (!alive(current, proc.binary)) {
    log(proc.starting);
    current = startProcess(join(bin, proc.binary), proc.args, proc.logFile).pid;
    savePid(current);
  }
  await waitFor(proc.ready.what, proc.ready.check, () =>
    alive(current, proc.binary) ? undefined : `${proc.binary} exited:\n${tail(proc.logFile)}`,
  );
}

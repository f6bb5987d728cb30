/**
 * The real services' processes for the e2e files (OpenFGA, Keycloak): the
 * cached binaries (scripts/ensure-*.sh), a server started with its log under
 * .local/test/, stopped cleanly, and polled until it answers (bounded, no
 * fixed sleep standing in for readiness); JSON calls to their APIs.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./harness";

export const LOGS = join(ROOT, ".local", "test");

export function tool(script: string): string {
  const res = spawnSync(join(ROOT, "scripts", script), [], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (res.status !== 0) throw new Error(`${script} failed (${res.status})`);
  return res.stdout.trim().split("\n").pop()!;
}

export interface Server {
  proc: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

export function startServer(
  cmd: string,
  args: string[],
  logName: string,
  env: Record<string, string> = {},
): Server {
  const log = join(LOGS, logName);
  const fd = openSync(log, "w");
  const proc = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return { proc, log, exited };
}

export function logOf(server: Server | undefined): string {
  if (!server) return "";
  try {
    return readFileSync(server.log, "utf8").slice(-4000);
  } catch {
    return "";
  }
}

export async function stop(server: Server | undefined): Promise<void> {
  if (!server || server.proc.exitCode !== null) return;
  server.proc.kill("SIGTERM");
  const timeout = new Promise((r) => setTimeout(r, 30_000));
  await Promise.race([server.exited, timeout]);
  if (server.proc.exitCode === null) server.proc.kill("SIGKILL");
}

/** Polls `url` until it answers 2xx, the server exits, or `ms` pass. */
export async function waitFor(url: string, server: Server, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (server.proc.exitCode !== null) {
      throw new Error(`server exited (${server.proc.exitCode}) before ${url} answered:\n${logOf(server)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${url} did not answer within ${ms / 1000}s:\n${logOf(server)}`);
}

export async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    ...init,
    headers: { "Content-Type": "application/json", ...(init.headers ?? {}) },
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * What the backup tests share: the pinned pg_dump/pg_restore (built or reused
 * by scripts/ensure-pg-client.sh), `scripts/backup.ts` run in a scratch
 * checkout as `make backup` / `make restore` run it, and a client as a
 * service's login role from its connection URI.
 */
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import type { Client } from "pg";
import type { ProgramStack } from "./program-stack";

/** The directory of the pinned PostgreSQL client tools. */
export function pgClientBin(): string {
  const tool = spawnSync(resolve(__dirname, "..", "..", "scripts", "ensure-pg-client.sh"), {
    encoding: "utf8",
  });
  if (tool.status !== 0) throw new Error(tool.stderr);
  return tool.stdout.trim().split("\n").pop() as string;
}

/** scripts/backup.ts in the scratch checkout, with no PG* or PULUMI_* variable of the caller's. */
export function backupCli(stack: ProgramStack, env: Record<string, string>, args: string[]) {
  const full: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const k of Object.keys(full)) if (/^PG[A-Z]+$/.test(k) || k.startsWith("PULUMI_")) delete full[k];
  const res = spawnSync(join(stack.root, "node_modules/.bin/tsx"), ["scripts/backup.ts", ...args], {
    cwd: stack.root,
    env: full,
    encoding: "utf8",
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** A client as the role of a connection URI (the stack's connectionUris), to its database. */
export function clientAs(stack: ProgramStack, uri: string): Promise<Client> {
  const u = new URL(uri);
  return stack.server.client(
    u.pathname.slice(1),
    decodeURIComponent(u.username),
    decodeURIComponent(u.password),
  );
}

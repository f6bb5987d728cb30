/**
 * A test server started as a child process and waited for until an HTTP
 * probe answers 2xx (polled until the deadline, no fixed wait): the object
 * storage emulators (fake-gcs.ts, s3-emulator.ts). Its exit before then, or
 * the deadline, is an error with the end of its stderr. Kill it in afterAll.
 */
import { ChildProcess, spawn } from "node:child_process";

export async function spawnAnswering(
  name: string,
  command: string,
  args: string[],
  probe: string,
  timeoutMs: number,
  pollMs = 50,
): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited: number | null = null;
  child.on("exit", (code) => (exited = code ?? -1));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== null) throw new Error(`${name} exited ${exited}: ${stderr}`);
    try {
      if ((await fetch(probe)).ok) return child;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`${name} did not answer ${probe} within ${timeoutMs} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

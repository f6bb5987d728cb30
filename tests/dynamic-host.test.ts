/**
 * The dynamic-provider host started beside the CLI (scripts/lib/dynamic-host.sh
 * and .cjs) and the launcher the engine runs
 * (scripts/plugins/pulumi-resource-pulumi-nodejs): the launcher hands the
 * engine the pre-started host's port, a host that serves the provider
 * protocol; it starts its own host when there is none; the pre-started host
 * ends with the process that started it and leaves nothing behind; pulumi.sh
 * refuses an unknown mode before it changes anything. The engine's own use of
 * it is in every test that runs `scripts/pulumi.sh … up`, and
 * tests/standard-host.test.ts checks that a preview runs one host, the
 * pre-started one.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { until } from "./helpers/until";

const ROOT = resolve(__dirname, "..");
const LAUNCHER = join(ROOT, "scripts", "plugins", "pulumi-resource-pulumi-nodejs");
const scratch = mkdtempSync(join(tmpdir(), "dynamic-host-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

function track(c: ChildProcess): ChildProcess {
  children.push(c);
  return c;
}

/** The first line a process writes to stdout. */
function firstLine(c: ChildProcess): Promise<string> {
  return new Promise((ok, fail) => {
    let out = "";
    let err = "";
    c.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    c.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) ok(out.slice(0, nl));
    });
    c.on("exit", (code) => fail(new Error(`exited ${code} before a line; stderr: ${err}`)));
  });
}

function exited(c: ChildProcess): Promise<number | null> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.exitCode);
  return new Promise((ok) => c.on("exit", (code) => ok(code)));
}

function running(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2];
    return state !== "Z";
  } catch {
    return false;
  }
}

/** A provider's GetPluginInfo over gRPC at 127.0.0.1:port. */
function pluginInfo(port: string): Promise<unknown> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { ResourceProviderClient } = require("@pulumi/pulumi/proto/provider_grpc_pb");
  const { Empty } = require("google-protobuf/google/protobuf/empty_pb");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((ok, fail) =>
    client.getPluginInfo(new Empty(), (err: Error | null, res: { toObject(): unknown }) => {
      client.close();
      if (err) fail(err);
      else ok(res.toObject());
    }),
  );
}

/**
 * pulumi.sh's start of the host, in a bash process that then waits on its
 * stdin (pulumi.sh would exec the CLI): returns it and the host's folder.
 */
async function startBeside(env: Record<string, string> = {}): Promise<{ parent: ChildProcess; dir: string }> {
  const parent = track(
    spawn(
      "bash",
      [
        "-c",
        `. scripts/lib/dynamic-host.sh && dynamic_host_start "$PWD" && echo "dir=\${PLATFORM_DYNAMIC_HOST_DIR:-}" && exec cat`,
      ],
      { cwd: ROOT, env: { ...process.env, TMPDIR: scratch, ...env }, stdio: ["pipe", "pipe", "pipe"] },
    ),
  );
  const line = await firstLine(parent);
  return { parent, dir: line.replace(/^dir=/, "") };
}

describe("the dynamic-provider host started beside the CLI", () => {
  it("is handed to the engine by the launcher: its port, a provider host that answers", async () => {
    const { dir } = await startBeside();
    expect(dir.startsWith(join(scratch, "pulumi-dynamic-host."))).toBe(true);
    const launcher = track(
      spawn(LAUNCHER, ["127.0.0.1:1"], { env: { ...process.env, PLATFORM_DYNAMIC_HOST_DIR: dir } }),
    );
    const port = await firstLine(launcher);
    expect(port).toMatch(/^\d+$/);
    expect(readFileSync(join(dir, "port"), "utf8")).toBe(`${port}\n`);
    const hostPid = Number(readFileSync(join(dir, "pid"), "utf8"));
    expect(readFileSync(`/proc/${hostPid}/cmdline`, "utf8")).toContain("scripts/lib/dynamic-host.cjs");
    // The SDK's host: it reports the SDK's version.
    const { version } = JSON.parse(
      readFileSync(join(ROOT, "node_modules/@pulumi/pulumi/package.json"), "utf8"),
    );
    expect(await pluginInfo(port)).toEqual({ version });
    // The launcher stays while the host runs (the engine would kill it).
    expect(launcher.exitCode).toBeNull();
  }, 60_000);

  it("ends with the process that started it, removes its folder, and the launcher follows", async () => {
    const { parent, dir } = await startBeside();
    const launcher = track(
      spawn(LAUNCHER, ["127.0.0.1:1"], { env: { ...process.env, PLATFORM_DYNAMIC_HOST_DIR: dir } }),
    );
    await firstLine(launcher);
    const hostPid = Number(readFileSync(join(dir, "pid"), "utf8"));
    parent.stdin?.end(); // the "CLI" ends
    await exited(parent);
    await until(() => !running(hostPid), 15_000, "the host exited", 50);
    expect(existsSync(dir)).toBe(false);
    expect(
      await Promise.race([exited(launcher), new Promise((r) => setTimeout(() => r("running"), 10_000))]),
    ).toBe(0);
  }, 60_000);

  it("ends too when pulumi.sh stops before the CLI starts (e.g. a stack not found)", async () => {
    const parent = track(
      spawn(
        "bash",
        [
          "-c",
          `. scripts/lib/dynamic-host.sh && dynamic_host_start "$PWD" && echo "$PLATFORM_DYNAMIC_HOST_DIR"`,
        ],
        {
          cwd: ROOT,
          env: { ...process.env, TMPDIR: scratch },
        },
      ),
    );
    const dir = await firstLine(parent);
    await exited(parent);
    await until(() => !existsSync(dir), 15_000, "the host removed its folder", 50);
    await until(
      () => !spawnSync("pgrep", ["-f", dir], { encoding: "utf8" }).stdout.trim(),
      15_000,
      "no process runs with that folder",
      50,
    );
  }, 60_000);

  it("without a running pre-started host, the launcher starts its own", async () => {
    const dir = mkdtempSync(join(scratch, "gone-"));
    const gone = spawnSync("true");
    writeFileSync(join(dir, "pid"), `${gone.pid}\n`);
    for (const env of [{ PLATFORM_DYNAMIC_HOST_DIR: dir }, { PLATFORM_DYNAMIC_HOST_DIR: "" }]) {
      const launcher = track(spawn(LAUNCHER, ["127.0.0.1:1"], { env: { ...process.env, ...env } }));
      const port = await firstLine(launcher);
      expect(port).toMatch(/^\d+$/);
      expect(await pluginInfo(port)).toHaveProperty("version");
      // exec'd into the SDK's host itself
      expect(readFileSync(`/proc/${launcher.pid}/cmdline`, "utf8")).toContain(
        "cmd/dynamic-provider/index.js",
      );
      launcher.kill("SIGKILL");
    }
  }, 60_000);

  it("PLATFORM_DYNAMIC_HOST=launch starts nothing: the engine starts the host when it needs it", async () => {
    const before = readdirSync(scratch).filter((f) => f.startsWith("pulumi-dynamic-host.")).length;
    const { dir } = await startBeside({
      PLATFORM_DYNAMIC_HOST: "launch",
      PLATFORM_DYNAMIC_HOST_DIR: "/stale",
    });
    expect(dir).toBe("");
    expect(readdirSync(scratch).filter((f) => f.startsWith("pulumi-dynamic-host."))).toHaveLength(before);
  }, 60_000);

  it("pulumi.sh refuses an unknown PLATFORM_DYNAMIC_HOST before it creates a stack", () => {
    const backend = mkdtempSync(join(scratch, "backend-"));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PULUMI_")));
    const r = spawnSync(join(ROOT, "scripts/pulumi.sh"), ["dynamic-host-refused", "preview"], {
      cwd: ROOT,
      encoding: "utf8",
      env: {
        ...env,
        PLATFORM_DYNAMIC_HOST: "eager",
        PULUMI_BACKEND_URL: `file://${backend}`,
        PULUMI_CONFIG_PASSPHRASE: "x",
      },
    });
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain("PLATFORM_DYNAMIC_HOST=eager is neither prestart");
    expect(existsSync(join(backend, ".pulumi"))).toBe(false);
  }, 60_000);
});

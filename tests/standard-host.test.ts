/**
 * The standard path: what `pulumi up` runs with the published CLI and its Node
 * language host (and CI's pulumi/actions, and the Automation API's local
 * programs). scripts/pulumi-host.ts stands in for that host: it spawns
 * @pulumi/pulumi's own entry point (cmd/run) with Pulumi.yaml's runtime
 * options, as the Go host does. First the command it builds, then a real
 * `preview` through it on a scratch stack deployed by the inline path
 * (tests/helpers/program-stack.ts), with every node process's loaded modules
 * recorded (tests/helpers/module-probe.cjs): no change planned, no ts-node,
 * no SDK the local stack does not need.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GRPC_SERVER_OPTIONS } from "../scripts/lib/cli-client";
import { nodeRuntimeOptions, projectRuntimeOptions, runtimeCommand, splitArgs } from "../scripts/pulumi-host";
import { packagesOf } from "./helpers/loaded-packages";
import { ProgramStack, startProgramStack } from "./helpers/program-stack";

const ROOT = join(__dirname, "..");

const REQUEST = {
  monitor: "127.0.0.1:1",
  engine: "127.0.0.1:2",
  organization: "organization",
  project: "platform-databases",
  rootDirectory: "/repo",
  stack: "dev",
  programDirectory: "/repo",
  dryRun: true,
  parallel: 8,
  entryPoint: ".",
  config: { "platform-databases:environment": "dev" },
  secretKeys: [],
  options: {},
};

describe("scripts/pulumi-host.ts: the command the standard host runs", () => {
  it("runs this project under node with its .ts require hook and without ts-node (Pulumi.yaml)", () => {
    const options = projectRuntimeOptions(ROOT);
    expect(options).toMatchObject({ typescript: false, nodeargs: "--require ./scripts/lib/register-ts.cjs" });
    const { args, env } = runtimeCommand(
      { ...REQUEST, options },
      "/repo/node_modules/@pulumi/pulumi/cmd/run",
    );
    expect(args.slice(0, 3)).toEqual([
      "--require",
      "./scripts/lib/register-ts.cjs",
      "/repo/node_modules/@pulumi/pulumi/cmd/run",
    ]);
    expect(env.PULUMI_NODEJS_TYPESCRIPT).toBeUndefined();
    expect(env.PULUMI_NODEJS_TSCONFIG_PATH).toBeUndefined();
  });

  it("applies the Go host's defaults: ts-node (typescript true) unless the project says otherwise", () => {
    expect(nodeRuntimeOptions({})).toEqual({ typescript: true, tsconfig: undefined, nodeargs: [] });
    const { env } = runtimeCommand({ ...REQUEST, options: { tsconfig: "tsconfig.run.json" } }, "run");
    expect(env).toMatchObject({
      PULUMI_NODEJS_TYPESCRIPT: "true",
      PULUMI_NODEJS_TSCONFIG_PATH: "tsconfig.run.json",
    });
    expect(() => nodeRuntimeOptions({ typescript: "no" })).toThrow("typescript option must be a boolean");
  });

  it("passes the run's flags as cmd/run reads them, the entry point last", () => {
    const { args, env } = runtimeCommand(REQUEST, "run");
    expect(args).toEqual([
      "run",
      "--monitor",
      "127.0.0.1:1",
      "--engine",
      "127.0.0.1:2",
      "--organization",
      "organization",
      "--project",
      "platform-databases",
      "--root-directory",
      "/repo",
      "--stack",
      "dev",
      "--pwd",
      "/repo",
      "--dry-run",
      "--parallel",
      "8",
      ".",
    ]);
    expect(JSON.parse(env.PULUMI_CONFIG)).toEqual(REQUEST.config);
    expect(runtimeCommand({ ...REQUEST, dryRun: false }, "run").args).not.toContain("--dry-run");
  });

  it("serves with the SDK's own gRPC server options (written out so serving does not wait for the SDK)", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { grpcChannelOptions } = require("@pulumi/pulumi/runtime/settings");
    expect(GRPC_SERVER_OPTIONS).toEqual(grpcChannelOptions);
  });

  it("splits nodeargs as a shell would (quotes kept together)", () => {
    expect(splitArgs(` --require tsx/cjs  --title "a b" 'c d'`)).toEqual([
      "--require",
      "tsx/cjs",
      "--title",
      "a b",
      "c d",
    ]);
    expect(() => splitArgs(`--title "a`)).toThrow("unterminated");
  });
});

interface ProcessRecord {
  argv: string[];
  execArgv: string[];
  modules: string[];
}

describe("a preview through the standard host's entry point (real engine, scratch stack)", () => {
  let stack: ProgramStack;
  let probeDir: string;
  let records: ProcessRecord[];

  beforeAll(async () => {
    stack = await startProgramStack();
    probeDir = mkdtempSync(join(tmpdir(), "module-probe-"));
    await stack.pulumi(["preview", "--expect-no-changes"], {
      PULUMI_HOST: "standard",
      NODE_OPTIONS: `--require ${join(__dirname, "helpers", "module-probe.cjs")}`,
      MODULE_PROBE_DIR: probeDir,
    });
    records = readdirSync(probeDir).map(
      (f) => JSON.parse(readFileSync(join(probeDir, f), "utf8")) as ProcessRecord,
    );
  }, 180_000);

  afterAll(() => {
    stack?.stop();
    if (probeDir) rmSync(probeDir, { recursive: true, force: true });
  });

  it("plans no change to the stack the inline path deployed", () => {
    // --expect-no-changes made the preview fail otherwise.
    expect(records.length).toBeGreaterThan(0);
  });

  it("loads the program through the .ts hook in @pulumi/pulumi's cmd/run: no ts-node, no tsx", () => {
    const program = records.filter((r) => r.argv[1]?.includes("@pulumi/pulumi/cmd/run"));
    expect(program).toHaveLength(1);
    const [run] = program;
    expect(run.execArgv).toEqual(expect.arrayContaining(["--require", "./scripts/lib/register-ts.cjs"]));
    expect(run.modules).toContain(join(stack.root, "index.ts"));
    expect(run.modules).toContain(join(stack.root, "scripts", "lib", "register-ts.cjs"));
    const packages = packagesOf(run.modules);
    expect(packages).toContain("esbuild");
    for (const loader of ["ts-node", "tsx"]) expect(packages).not.toContain(loader);
  });

  it("loads no TypeScript compiler in the program's or the dynamic-provider host's process", () => {
    const processes = records.filter((r) =>
      ["@pulumi/pulumi/cmd/run", "@pulumi/pulumi/cmd/dynamic-provider"].some((p) => r.argv[1]?.includes(p)),
    );
    expect(processes.map((r) => r.argv[1].split("@pulumi/pulumi/")[1]).sort()).toEqual([
      "cmd/dynamic-provider/index.js",
      "cmd/run/index.js",
    ]);
    for (const r of processes) expect(packagesOf(r.modules)).not.toContain("typescript");
  });

  it("loads neither the Automation API nor the closure serializer's code-path walker in either process", () => {
    const processes = records.filter((r) =>
      ["@pulumi/pulumi/cmd/run", "@pulumi/pulumi/cmd/dynamic-provider"].some((p) => r.argv[1]?.includes(p)),
    );
    expect(processes).toHaveLength(2);
    for (const r of processes) {
      const packages = packagesOf(r.modules);
      for (const unused of ["execa", "normalize-package-data"]) expect(packages).not.toContain(unused);
      expect(r.modules.filter((m) => m.includes("@pulumi/pulumi/automation/"))).toEqual([]);
    }
  });

  it("runs one dynamic-provider host, the one scripts/pulumi.sh started beside the CLI", () => {
    const hosts = records.filter((r) => r.argv[1]?.includes("@pulumi/pulumi/cmd/dynamic-provider"));
    expect(hosts).toHaveLength(1);
    expect(hosts[0].modules).toContain(join(stack.root, "scripts", "lib", "dynamic-host.cjs"));
  });

  it("installs no source-map-support in the program's process unless source maps are asked for", () => {
    const [run] = records.filter((r) => r.argv[1]?.includes("@pulumi/pulumi/cmd/run"));
    expect(packagesOf(run.modules)).not.toContain("source-map-support");
  });

  it("loads no cloud or kubernetes SDK for a local stack without a cluster", () => {
    const [run] = records.filter((r) => r.argv[1]?.includes("@pulumi/pulumi/cmd/run"));
    const packages = packagesOf(run.modules);
    expect(packages).toContain("@pulumi/postgresql");
    for (const sdk of ["@pulumi/aws", "@pulumi/gcp", "@pulumi/kubernetes"])
      expect(packages).not.toContain(sdk);
  });
});

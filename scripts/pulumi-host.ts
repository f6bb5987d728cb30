/**
 * Runs the real Pulumi CLI with a stand-in for the standard Node language host
 * (`pulumi-language-nodejs`, which cannot be built from the Go modules
 * reachable here): the path `pulumi up` takes on a machine with the published
 * CLI, in CI (pulumi/actions) and with the Automation API's local programs.
 *
 *   tsx scripts/pulumi-host.ts <pulumi args...>        (scripts/pulumi.sh with PULUMI_HOST=standard)
 *
 * For each Run request it does what the Go host's Run does (sdk/nodejs/cmd/
 * pulumi-language-nodejs, execRuntime and constructArguments): it resolves
 * `@pulumi/pulumi/cmd/run` from the program directory with `node -e`, then
 * spawns
 *
 *   node <runtime.options.nodeargs> <cmd/run> --monitor … --engine … --project …
 *        --root-directory … --stack … --pwd <program dir> [--dry-run] --parallel N <entry point>
 *
 * with PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS, plus
 * PULUMI_NODEJS_TYPESCRIPT=true when `runtime.options.typescript` is true (the
 * default: cmd/run then registers ts-node, which type-checks unless
 * PULUMI_NODEJS_TRANSPILE_ONLY or the tsconfig's `noCheck` says otherwise) and
 * PULUMI_NODEJS_TSCONFIG_PATH for `runtime.options.tsconfig`. So the program
 * is loaded by @pulumi/pulumi's own entry point, in its own process, with the
 * project's runtime options: what the standard host loads.
 *
 * Differences, none on the program's path: the Go host receives the runtime
 * options in the RunRequest, while a `--client` runtime receives only its own
 * address there, so they are read from Pulumi.yaml (`runtime.options`); the Go
 * host puts a pass-through proxy between the program and the engine's resource
 * monitor, and pipes for synchronous invokes (--sync; the program makes none),
 * while here the child talks to the monitor directly.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { parse } from "yaml";
import { runCli } from "./lib/cli-client";

const ROOT = resolve(__dirname, "..");

/* eslint-disable @typescript-eslint/no-require-imports */
const langproto = require("@pulumi/pulumi/proto/language_pb");
const plugproto = require("@pulumi/pulumi/proto/plugin_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

/** The Node runtime options of Pulumi.yaml, as the Go host reads them (parseOptions). */
export interface NodeRuntimeOptions {
  typescript: boolean;
  tsconfig?: string;
  nodeargs: string[];
}

/** Splits `nodeargs` as the Go host does (shlex: whitespace, single and double quotes). */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let quote: string | undefined;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur ??= "";
    } else if (/\s/.test(ch)) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else {
      cur = (cur ?? "") + ch;
    }
  }
  if (quote) throw new Error(`nodeargs: unterminated ${quote}`);
  if (cur !== undefined) out.push(cur);
  return out;
}

/** Pulumi.yaml `runtime.options` → what the host applies (typescript defaults to true). */
export function nodeRuntimeOptions(options: Record<string, unknown>): NodeRuntimeOptions {
  const typescript = options.typescript ?? true;
  if (typeof typescript !== "boolean") throw new Error("typescript option must be a boolean");
  const { tsconfig, nodeargs = "" } = options;
  if (tsconfig !== undefined && typeof tsconfig !== "string")
    throw new Error("tsconfig option must be a string");
  if (typeof nodeargs !== "string") throw new Error("nodeargs option must be a string");
  return { typescript, tsconfig, nodeargs: splitArgs(nodeargs) };
}

/** What the Go host's execRuntime spawns for one RunRequest. */
export function runtimeCommand(
  req: {
    monitor: string;
    engine: string;
    organization: string;
    project: string;
    rootDirectory: string;
    stack: string;
    programDirectory: string;
    dryRun: boolean;
    parallel: number;
    entryPoint: string;
    config: Record<string, string>;
    secretKeys: string[];
    options: Record<string, unknown>;
  },
  runPath: string,
): { args: string[]; env: Record<string, string> } {
  const opts = nodeRuntimeOptions(req.options);
  const args = [...opts.nodeargs, runPath];
  const flag = (k: string, v: string) => {
    if (v !== "") args.push(`--${k}`, v);
  };
  flag("monitor", req.monitor);
  flag("engine", req.engine);
  flag("organization", req.organization);
  flag("project", req.project);
  flag("root-directory", req.rootDirectory);
  flag("stack", req.stack);
  flag("pwd", req.programDirectory);
  if (req.dryRun) args.push("--dry-run");
  flag("parallel", String(req.parallel));
  args.push(req.entryPoint || ".");
  const env: Record<string, string> = {
    PULUMI_CONFIG: JSON.stringify(req.config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(req.secretKeys),
  };
  if (opts.typescript) env.PULUMI_NODEJS_TYPESCRIPT = "true";
  if (opts.tsconfig) env.PULUMI_NODEJS_TSCONFIG_PATH = opts.tsconfig;
  return { args, env };
}

/** `runtime.options` of the project file in `rootDirectory` ({} when the runtime is a plain name). */
export function projectRuntimeOptions(rootDirectory: string): Record<string, unknown> {
  const project = parse(readFileSync(join(rootDirectory, "Pulumi.yaml"), "utf8")) as {
    runtime?: string | { options?: Record<string, unknown> };
  };
  return (typeof project.runtime === "object" && project.runtime.options) || {};
}

/** `require.resolve` of cmd/run from the program directory, in a node process, as the Go host does. */
function locateRun(programDirectory: string): string {
  const res = spawnSync("node", ["-e", "console.log(require.resolve('@pulumi/pulumi/cmd/run'))"], {
    cwd: programDirectory,
    encoding: "utf8",
  });
  if (res.status !== 0) throw new Error(`cannot resolve @pulumi/pulumi/cmd/run: ${res.stderr}`);
  return res.stdout.trim();
}

/* eslint-disable @typescript-eslint/no-explicit-any -- generated protobuf classes */
const handlers = {
  getRequiredPlugins(_call: unknown, callback: grpc.sendUnaryData<unknown>) {
    const resp = new langproto.GetRequiredPluginsResponse();
    resp.setPluginsList([]);
    callback(null, resp);
  },
  getPluginInfo(_call: unknown, callback: grpc.sendUnaryData<unknown>) {
    const resp = new plugproto.PluginInfo();
    resp.setVersion("1.0.0");
    callback(null, resp);
  },
  run(call: { request: any }, callback: grpc.sendUnaryData<unknown>) {
    const req = call.request;
    const info = req.getInfo();
    const programDirectory: string = info?.getProgramDirectory() || ROOT;
    const rootDirectory: string = info?.getRootDirectory() || ROOT;
    const config: Record<string, string> = {};
    for (const [k, v] of req.getConfigMap()?.entries() ?? []) config[k] = v;
    let command: { args: string[]; env: Record<string, string> };
    try {
      command = runtimeCommand(
        {
          monitor: req.getMonitorAddress(),
          // With --client the CLI passes the engine's address as the first program argument.
          engine: req.getArgsList()[0] ?? "",
          organization: req.getOrganization(),
          project: req.getProject(),
          rootDirectory,
          stack: req.getStack(),
          programDirectory,
          dryRun: req.getDryrun(),
          parallel: req.getParallel(),
          entryPoint: info?.getEntryPoint() ?? ".",
          config,
          secretKeys: req.getConfigsecretkeysList() ?? [],
          options: projectRuntimeOptions(rootDirectory),
        },
        locateRun(programDirectory),
      );
    } catch (err) {
      const resp = new langproto.RunResponse();
      resp.setError((err as Error).message);
      callback(null, resp);
      return;
    }
    if (process.env.PULUMI_HOST_DEBUG) console.error(`pulumi-host: node ${command.args.join(" ")}`);
    const child = spawn("node", command.args, {
      cwd: programDirectory,
      env: { ...process.env, ...command.env },
      stdio: "inherit",
    });
    child.on("close", (code) => {
      const resp = new langproto.RunResponse();
      // 32: cmd/run already showed the user an actionable message (the Go host then bails quietly).
      if (code === 32) resp.setBail(true);
      else if (code !== 0) resp.setError(`Program exited with non-zero exit code: ${code}`);
      callback(null, resp);
    });
  },
};
/* eslint-enable @typescript-eslint/no-explicit-any */

if (require.main === module) {
  runCli({ handlers, args: process.argv.slice(2), cwd: ROOT }).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`pulumi-host: ${err.message}`);
      process.exit(1);
    },
  );
}

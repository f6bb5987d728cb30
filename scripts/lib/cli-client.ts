/**
 * Runs the real Pulumi CLI against a language runtime served from this
 * process: the service is bound on a loopback port and the CLI is told to use
 * it with `--client=<addr> --exec-kind auto.inline` (what the Automation API
 * does for inline programs). Shared by scripts/pulumi-inline.ts (the program
 * in this process) and scripts/pulumi-host.ts (the program in a child process,
 * as the standard Node language host runs it).
 */
import { spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";

// Generated service definitions shipped in @pulumi/pulumi (what the Automation API uses).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const langrpc = require("@pulumi/pulumi/proto/language_grpc_pb");

/**
 * The Node SDK's own server options (runtime/settings.js grpcChannelOptions),
 * written out so that serving does not wait for that module to load.
 */
export const GRPC_SERVER_OPTIONS: grpc.ServerOptions = {
  "grpc.max_receive_message_length": 1024 * 1024 * 400,
  "grpc.server_max_unrequested_time_in_server": 30 * 60,
};

/** The handlers of pulumirpc.LanguageRuntime this process implements (the rest answer UNIMPLEMENTED). */
export type LanguageRuntimeHandlers = grpc.UntypedServiceImplementation;

export interface CliRun {
  handlers: LanguageRuntimeHandlers;
  /** `pulumi` arguments. */
  args: string[];
  /** Its working directory (the project root). */
  cwd: string;
  /** Runs once the CLI is started: work that may overlap its start (e.g. loading the program's modules). */
  afterSpawn?: () => void;
  /** Runs once the CLI has exited, before the server shuts down (e.g. the SDK's leak check). */
  afterExit?: (code: number) => void;
}

/**
 * Serves `handlers` as the language runtime, runs `pulumi <args>` in `cwd`
 * with stdio inherited, and resolves with the CLI's exit code once the server
 * is shut down.
 */
export async function runCli(run: CliRun): Promise<number> {
  const server = new grpc.Server(GRPC_SERVER_OPTIONS);
  server.addService(langrpc.LanguageRuntimeService, run.handlers);
  const port = await new Promise<number>((ok, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? fail(err) : ok(p),
    ),
  );
  const child = spawn("pulumi", [...run.args, `--client=127.0.0.1:${port}`, "--exec-kind", "auto.inline"], {
    cwd: run.cwd,
    stdio: "inherit",
  });
  const exited = new Promise<number>((ok) => child.on("close", (c) => ok(c ?? 1)));
  run.afterSpawn?.();
  const code = await exited;
  try {
    run.afterExit?.(code);
  } finally {
    server.forceShutdown();
  }
  return code;
}

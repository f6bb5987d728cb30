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

/** The handlers of pulumirpc.LanguageRuntime this process implements (the rest answer UNIMPLEMENTED). */
export type LanguageRuntimeHandlers = grpc.UntypedServiceImplementation;

/**
 * Serves `handlers` as the language runtime (a gRPC server with
 * `serverOptions`), runs `pulumi <args>` in `cwd` with stdio inherited, and
 * resolves with the CLI's exit code once the server is shut down. `afterExit`
 * runs between the two (e.g. the SDK's leak check).
 */
export async function runCli(
  handlers: LanguageRuntimeHandlers,
  serverOptions: grpc.ServerOptions,
  args: string[],
  cwd: string,
  afterExit?: (code: number) => void,
): Promise<number> {
  const server = new grpc.Server(serverOptions);
  server.addService(langrpc.LanguageRuntimeService, handlers);
  const port = await new Promise<number>((ok, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? fail(err) : ok(p),
    ),
  );
  const child = spawn("pulumi", [...args, `--client=127.0.0.1:${port}`, "--exec-kind", "auto.inline"], {
    cwd,
    stdio: "inherit",
  });
  const code = await new Promise<number>((ok) => child.on("close", (c) => ok(c ?? 1)));
  try {
    afterExit?.(code);
  } finally {
    server.forceShutdown();
  }
  return code;
}

/**
 * Runs the real Pulumi CLI with this project's program served in-process, for
 * machines without the `pulumi-language-nodejs` language host (it cannot be
 * built from the Go module proxy reachable here; see scripts/ensure-pulumi.sh).
 *
 *   tsx scripts/pulumi-inline.ts <pulumi args...>     e.g. up --yes --stack test
 *
 * This is what Pulumi's Automation API does for inline programs: the Node SDK's
 * LanguageServer serves the program over gRPC on loopback, and the CLI is told
 * to use it with `--client=<addr> --exec-kind auto.inline`. The engine, the
 * state backend, the providers and every CLI flag are the real ones; only the
 * language host is replaced by the SDK's own. The program is index.ts, loaded
 * fresh for the run; its exports become the stack outputs, as with the host.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";

const ROOT = resolve(__dirname, "..");

// Internal modules of @pulumi/pulumi that the Automation API itself uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LanguageServer } = require("@pulumi/pulumi/automation/server");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const langrpc = require("@pulumi/pulumi/proto/language_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { grpcChannelOptions } = require("@pulumi/pulumi/runtime/settings");

async function program(): Promise<Record<string, unknown>> {
  // A fresh copy of the program and its components for this run.
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(ROOT) && !key.includes("node_modules")) delete require.cache[key];
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(resolve(ROOT, "index.ts"));
  return { ...mod };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const server = new grpc.Server({ ...grpcChannelOptions });
  const languageServer = new LanguageServer(program);
  server.addService(langrpc.LanguageRuntimeService, languageServer);
  const port = await new Promise<number>((ok, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? fail(err) : ok(p),
    ),
  );
  const child = spawn("pulumi", [...args, `--client=127.0.0.1:${port}`, "--exec-kind", "auto.inline"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  const code = await new Promise<number>((ok) => child.on("close", (c) => ok(c ?? 1)));
  try {
    languageServer.onPulumiExit(code !== 0);
  } finally {
    server.forceShutdown();
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`pulumi-inline: ${err.message}`);
    process.exit(1);
  },
);

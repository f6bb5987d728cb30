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
import { resolve } from "node:path";
import { runCli } from "./lib/cli-client";

const ROOT = resolve(__dirname, "..");

// Internal modules of @pulumi/pulumi that the Automation API itself uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LanguageServer } = require("@pulumi/pulumi/automation/server");
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

const languageServer = new LanguageServer(program);
runCli(languageServer, { ...grpcChannelOptions }, process.argv.slice(2), ROOT, (code) =>
  languageServer.onPulumiExit(code !== 0),
).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`pulumi-inline: ${err.message}`);
    process.exit(1);
  },
);

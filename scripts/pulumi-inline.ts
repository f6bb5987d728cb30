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
 * fresh for the run; what the function it exports returns (or else its
 * exports) becomes the stack outputs, as with the host.
 */
import { resolve } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { runCli } from "./lib/cli-client";

const ROOT = resolve(__dirname, "..");

/** The SDK's LanguageServer (automation/server, internal: what the Automation API itself uses). */
interface LanguageServer {
  getRequiredPlugins: grpc.handleUnaryCall<unknown, unknown>;
  getPluginInfo: grpc.handleUnaryCall<unknown, unknown>;
  run: grpc.handleUnaryCall<unknown, unknown>;
  onPulumiExit(hasError: boolean): void;
}

let runs = 0;
async function program(): Promise<Record<string, unknown>> {
  // A fresh copy of the program for this run; from the second run of this
  // process on (`up` without --skip-preview), of its components as well.
  for (const key of Object.keys(require.cache)) {
    const ours = key.startsWith(ROOT) && !key.includes("node_modules");
    if (ours && (runs > 0 || key === resolve(ROOT, "index.ts"))) delete require.cache[key];
  }
  runs++;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const main = require(resolve(ROOT, "index.ts")) as
    (() => Promise<Record<string, unknown>>) | Record<string, unknown>;
  // As @pulumi/pulumi's cmd/run: an exported function is called (this
  // project's index.ts), else the module's exports are the outputs.
  return typeof main === "function" ? main() : { ...main };
}

// The SDK and the program's modules load while the CLI starts (it needs the
// program only once it has read the stack): the server is created on first use.
let server: LanguageServer | undefined;
function languageServer(): LanguageServer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  server ??= new (require("@pulumi/pulumi/automation/server").LanguageServer)(program) as LanguageServer;
  return server;
}

type Call = grpc.ServerUnaryCall<unknown, unknown>;
type Callback = grpc.sendUnaryData<unknown>;

runCli({
  handlers: {
    getRequiredPlugins: (call: Call, callback: Callback) =>
      languageServer().getRequiredPlugins(call, callback),
    getPluginInfo: (call: Call, callback: Callback) => languageServer().getPluginInfo(call, callback),
    run: (call: Call, callback: Callback) => languageServer().run(call, callback),
  },
  args: process.argv.slice(2),
  cwd: ROOT,
  afterSpawn: () =>
    setImmediate(() => {
      languageServer();
      // The components (and through them @pulumi/pulumi and @pulumi/postgresql); not index.ts,
      // whose top level registers the resources. Only a head start: an error here
      // surfaces when the program runs.
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(resolve(ROOT, "components"));
      } catch {
        // (reported by the run)
      }
    }),
  afterExit: (code) => server?.onPulumiExit(code !== 0),
}).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`pulumi-inline: ${err.message}`);
    process.exit(1);
  },
);

/**
 * Runs the program (index.ts) once under mocks in this fresh process, as the
 * engine would load it (Node's require with tsx), then prints the npm
 * packages the process has loaded, as JSON. tests/loaded-packages.test.ts
 * spawns it once per stack config, so no other test's imports are counted.
 *
 *   tsx tests/helpers/loaded-packages.ts <stack> '<config as JSON>' [--cloud]
 *
 * --cloud: the computed outputs of a Cloud SQL / RDS instance (cloud-mocks.ts).
 */
import { join } from "node:path";
import { cloudMocks } from "./cloud-mocks";
import { installMocks, settle } from "./mocks";

/** `@pulumi/aws`, `pg`, … from module paths under node_modules/. */
export function packagesOf(modules: readonly string[]): string[] {
  const names = new Set<string>();
  for (const m of modules) {
    const at = m.lastIndexOf("node_modules/");
    if (at < 0) continue;
    const match = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m.slice(at));
    if (match) names.add(match[1]);
  }
  return [...names].sort();
}

async function main(): Promise<void> {
  const [stack, config, flag] = process.argv.slice(2);
  await installMocks(JSON.parse(config), "platform-databases", stack, flag === "--cloud" ? cloudMocks() : {});
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = require(join(__dirname, "..", "..", "index.ts")) as typeof import("../../index");
  await program();
  await settle();
  process.stdout.write(JSON.stringify(packagesOf(Object.keys(require.cache))));
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  });
}
